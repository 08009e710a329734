/* cfgcheck: what text in the configuration may hold, so that no sink mangles or refuses it. */
#ifndef AW_CFGCHECK_H
#define AW_CFGCHECK_H

#include <stddef.h>

/* Bytes, not characters. Any string at all; names and label values; the syslog ident. */
#define CFG_TEXT_MAX 4096
#define CFG_NAME_MAX 256
#define CFG_IDENT_MAX 64
/* journald takes field names of at most 64 bytes; the journal writer puts AGENT_LABEL_ first. */
#define CFG_JOURNAL_FIELD_MAX 64
#define CFG_LABEL_PREFIX "AGENT_LABEL_"
#define CFG_LABEL_NAME_MAX (CFG_JOURNAL_FIELD_MAX - (sizeof(CFG_LABEL_PREFIX) - 1))
/* A unix socket path and its NUL fill sockaddr_un's sun_path of 108 bytes. */
#define CFG_SOCKET_MAX 107

/*
 * Why text cannot be a string value of at most max bytes, written into buf (size bytes), or
 * NULL when it can: it must be valid UTF-8 without control characters other than tab (a line
 * break would split a syslog line or an HTTP header, an escape would reach terminals, invalid
 * UTF-8 makes JSON invalid and the journal keep a blob).
 */
const char *cfgcheck_text(const char *text, size_t max, char *buf, size_t size);

/* Why ident cannot be the syslog tag (printable ASCII, no space, ':' or '['), or NULL. */
const char *cfgcheck_ident(const char *ident);

/* Why name cannot be a label name (the Prometheus form, short enough for journald), or NULL. */
const char *cfgcheck_label_name(const char *name, char *buf, size_t size);

#endif
