/* httpauth: the HTTP endpoint's basic-auth users, their crypt(3) checks cached and rate-limited. */
#include "config.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "httpauth.h"
#include "util.h"

#define AUTH_CACHE 32		/* verified credentials remembered, so crypt(3) runs once each */
#define CRYPT_RATE 20.0		/* crypt(3) verifications per second at most: each costs the loop */

struct httpauth {
	struct cfg_http_user *users;
	size_t nusers;
	unsigned char salt[16];
	unsigned char cache[AUTH_CACHE][32];
	size_t cache_next;
	double crypt_tokens;
	uint64_t crypt_refill_us;
	struct crypt_data *crypt;
};

static void credential_digest(const struct httpauth *a, const struct cfg_http_user *u,
			      const char *pass, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md)
		abort();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, a->salt, sizeof a->salt);
	EVP_DigestUpdate(md, u->name, strlen(u->name) + 1);
	EVP_DigestUpdate(md, u->hash, strlen(u->hash) + 1);
	EVP_DigestUpdate(md, pass, strlen(pass));
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
}

static bool cached(const struct httpauth *a, const unsigned char digest[32])
{
	for (size_t i = 0; i < AUTH_CACHE; i++)
		if (CRYPTO_memcmp(a->cache[i], digest, 32) == 0)
			return true;
	return false;
}

/* A token bucket: a flood of wrong passwords must not keep the loop in crypt(3). */
static bool take_crypt_token(struct httpauth *a)
{
	uint64_t now = util_now_monotonic_us();

	a->crypt_tokens += (double)(now - a->crypt_refill_us) / 1e6 * CRYPT_RATE;
	if (a->crypt_tokens > CRYPT_RATE)
		a->crypt_tokens = CRYPT_RATE;
	a->crypt_refill_us = now;
	if (a->crypt_tokens < 1)
		return false;
	a->crypt_tokens -= 1;
	return true;
}

enum httpauth_result httpauth_check(struct httpauth *a, const char *user, const char *pass)
{
	const struct cfg_http_user *u = NULL;
	unsigned char digest[32];
	const char *out;

	for (size_t i = 0; i < a->nusers && !u; i++)
		if (strcmp(a->users[i].name, user) == 0)
			u = &a->users[i];
	if (!u)
		return HTTPAUTH_REFUSED;
	credential_digest(a, u, pass, digest);
	if (cached(a, digest))
		return HTTPAUTH_OK;
	if (!take_crypt_token(a))
		return HTTPAUTH_BUSY;
	out = crypt_rn(pass, u->hash, a->crypt, sizeof(*a->crypt));
	if (!out || strlen(out) != strlen(u->hash) || CRYPTO_memcmp(out, u->hash, strlen(out)) != 0)
		return HTTPAUTH_REFUSED;
	memcpy(a->cache[a->cache_next++ % AUTH_CACHE], digest, 32);
	return HTTPAUTH_OK;
}

static void clear_users(struct httpauth *a)
{
	for (size_t i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		util_secret_free(a->users[i].hash, strlen(a->users[i].hash));
	}
	free(a->users);
	a->users = NULL;
	a->nusers = 0;
}

void httpauth_set_users(struct httpauth *a, const struct cfg_http *cfg)
{
	clear_users(a);
	a->nusers = cfg->nusers;
	a->users = xcalloc(cfg->nusers, sizeof(*a->users));
	for (size_t i = 0; i < cfg->nusers; i++)
		a->users[i] = (struct cfg_http_user){ xstrdup(cfg->users[i].name),
						      util_secret_dup(cfg->users[i].hash,
								      strlen(cfg->users[i].hash)) };
	/* The cache keys include each hash: a changed password never matches an old entry. */
}

struct httpauth *httpauth_new(void)
{
	struct httpauth *a = xcalloc(1, sizeof(*a));

	a->crypt = xcalloc(1, sizeof(*a->crypt));
	a->crypt_tokens = CRYPT_RATE;
	a->crypt_refill_us = util_now_monotonic_us();
	if (getrandom(a->salt, sizeof a->salt, 0) != sizeof a->salt)
		abort();
	return a;
}

bool httpauth_required(const struct httpauth *a)
{
	return a->nusers != 0;
}

void httpauth_free(struct httpauth *a)
{
	if (!a)
		return;
	clear_users(a);
	free(a->crypt);
	free(a);
}
