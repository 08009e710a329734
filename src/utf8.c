/* utf8: checking UTF-8 text, and cutting it only between characters, with a marker. */
#include "config.h"

#include <string.h>

#include "utf8.h"

static bool continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t utf8_char_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;	/* a continuation byte, 0xc0/0xc1 (always overlong), or beyond Unicode */
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (!continuation(p[i]))
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* The shortest form only, no UTF-16 surrogates, nothing past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

bool utf8_valid(const char *s, size_t n, size_t *bad)
{
	size_t i = 0, len;

	while (i < n) {
		if (!(len = utf8_char_len(s + i, n - i))) {
			if (bad)
				*bad = i;
			return false;
		}
		i += len;
	}
	return true;
}

size_t utf8_cut(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cut;

	if (max >= n)
		return n;
	/* A character is at most 4 bytes: step back over at most 3 continuation bytes. */
	for (cut = max; cut > 0 && max - cut < 3 && continuation(p[cut]); cut--)
		;
	return continuation(p[cut]) ? max : cut;
}

bool utf8_copy(char *buf, size_t size, const char *src)
{
	size_t len = strlen(src), mark = sizeof(UTF8_CUT_MARK) - 1, n;

	if (len < size) {
		memcpy(buf, src, len + 1);
		return false;
	}
	if (size <= mark) {
		/* No room for the mark: as much as fits, still whole characters. */
		n = utf8_cut(src, len, size - 1);
		memcpy(buf, src, n);
		buf[n] = '\0';
		return true;
	}
	n = utf8_cut(src, len, size - 1 - mark);
	memcpy(buf, src, n);
	memcpy(buf + n, UTF8_CUT_MARK, mark + 1);
	return true;
}
