/* httpauth: the HTTP endpoint's basic-auth users, their crypt(3) checks cached and rate-limited. */
#ifndef AW_HTTPAUTH_H
#define AW_HTTPAUTH_H

#include <stdbool.h>

#include "cfg.h"

enum httpauth_result { HTTPAUTH_OK, HTTPAUTH_REFUSED, HTTPAUTH_BUSY };

struct httpauth;

/* No users yet: every request is let in. Aborts when there is no randomness for the salt. */
struct httpauth *httpauth_new(void);
/* Replaces the users by copies of cfg's (reload); what was cached for a changed hash is void. */
void httpauth_set_users(struct httpauth *a, const struct cfg_http *cfg);
/* Whether any user is configured, i.e. whether requests need credentials. */
bool httpauth_required(const struct httpauth *a);
/*
 * Checks user's password pass: HTTPAUTH_BUSY when a crypt(3) run is needed but the rate limit
 * (CRYPT_RATE a second) allows none now.
 */
enum httpauth_result httpauth_check(struct httpauth *a, const char *user, const char *pass);
void httpauth_free(struct httpauth *a);

#endif
