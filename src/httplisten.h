/* httplisten: the HTTP endpoint's listen settings (addresses, TLS PEMs, limits) and sockets. */
#ifndef AW_HTTPLISTEN_H
#define AW_HTTPLISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"

/* What the listeners were built from, to tell whether a reload must rebuild them. */
struct httplisten {
	char **listen;
	size_t nlisten;
	char *cert, *key;		/* PEM contents, NULL without TLS */
	int max_connections;
	unsigned timeout;
};

/*
 * s from cfg: copies, and the PEM files read (the key kept as a secret); -1 after logging why
 * (s is then partly filled: httplisten_clear it).
 */
int httplisten_load(struct httplisten *s, const struct cfg_http *cfg);
/* Whether a and b would build the same listeners. */
bool httplisten_equal(const struct httplisten *a, const struct httplisten *b);
/* Frees what s holds and zeroes it. */
void httplisten_clear(struct httplisten *s);
/*
 * A bound, listening, non-blocking socket for name (logged); -1 after logging why not. A unix
 * socket's path goes to *unix_path (allocated; the caller removes the socket when done).
 */
int httplisten_open(const char *name, char **unix_path);

#endif
