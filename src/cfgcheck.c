/* cfgcheck: what text in the configuration may hold, so that no sink mangles or refuses it. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cfgcheck.h"
#include "utf8.h"

#define STR(x) #x
#define XSTR(x) STR(x)

const char *cfgcheck_text(const char *text, size_t max, char *buf, size_t size)
{
	size_t len = strlen(text), bad;

	if (!utf8_valid(text, len, &bad)) {
		snprintf(buf, size, "is not valid UTF-8: byte %zu is 0x%02x", bad + 1,
			 (unsigned char)text[bad]);
		return buf;
	}
	if (strpbrk(text, "\r\n"))
		return "must not contain a line break";
	for (size_t i = 0; i < len; i++) {
		/* A tab is only blank space: every sink escapes or keeps it. */
		if (((unsigned char)text[i] < 0x20 && text[i] != '\t') || text[i] == 0x7f) {
			snprintf(buf, size, "must not contain control characters: byte %zu is 0x%02x",
				 i + 1, (unsigned char)text[i]);
			return buf;
		}
	}
	if (len > max) {
		snprintf(buf, size, "is %zu bytes long: at most %zu bytes are allowed", len, max);
		return buf;
	}
	return NULL;
}

const char *cfgcheck_ident(const char *ident)
{
	static const char need[] = "must be 1 to " XSTR(CFG_IDENT_MAX)
		" printable ASCII characters without spaces, ':' or '['";
	size_t len = strlen(ident);

	if (len == 0 || len > CFG_IDENT_MAX)
		return need;
	for (const char *p = ident; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr(":[]", *p))
			return need;
	return NULL;
}

#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

const char *cfgcheck_label_name(const char *name, char *buf, size_t size)
{
	size_t len = strlen(name);

	if (!strchr(LETTERS "_", name[0]) || name[strspn(name, LETTERS "0123456789_")])
		return "is not a valid label name: it must match [a-zA-Z_][a-zA-Z0-9_]*";
	if (len > CFG_LABEL_NAME_MAX) {
		snprintf(buf, size, "is %zu bytes long: label names are at most %zu bytes, as the "
			 "journal field " CFG_LABEL_PREFIX "NAME must fit journald's %d", len,
			 (size_t)CFG_LABEL_NAME_MAX, CFG_JOURNAL_FIELD_MAX);
		return buf;
	}
	return NULL;
}
