/* sign: the CMS "auth-v2" request signature (canonical request + two HMAC-SHA256 rounds). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"
#include "util.h"

#define HEX_SHA256_LEN (2 * 32)

/* RFC 3986 percent-encoding of every byte outside A-Z a-z 0-9 - . _ ~, upper-case hex. */
static char *normalize(const char *s, size_t len)
{
	char *escaped = curl_easy_escape(NULL, s, (int)len);
	char *copy;

	if (!escaped) {
		fputs("agentwatchd: out of memory\n", stderr);
		abort();
	}
	copy = xstrdup(escaped);
	curl_free(escaped);
	return copy;
}

static void hmac_sha256_hex(const void *key, size_t key_len, const char *data, size_t data_len,
			    char out[HEX_SHA256_LEN + 1])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, data_len, digest,
	     &digest_len);
	util_hex_lower(digest, digest_len, out);
	OPENSSL_cleanse(digest, sizeof(digest));
}

static char *canonical_request(const struct sign_request *req)
{
	char content_length[24];
	char *type = normalize(SIGN_CONTENT_TYPE, strlen(SIGN_CONTENT_TYPE));
	char *host = normalize(req->host, strlen(req->host));
	char *body = normalize(req->body, req->body_len);
	char *canonical;

	snprintf(content_length, sizeof(content_length), "%zu", req->body_len);
	/* The query string line is empty but present: the interface has no query. */
	canonical = xasprintf("%s\n%s\n\n%s\ncontent-length:%s\ncontent-type:%s\nhost:%s\n%s",
			      req->method, req->path, SIGN_SIGNED_HEADERS, content_length, type,
			      host, body);
	free(type);
	free(host);
	free(body);
	return canonical;
}

char *sign_authorization(const struct sign_request *req, char **canonical_out)
{
	char signing_key[HEX_SHA256_LEN + 1];
	char signature[HEX_SHA256_LEN + 1];
	char *prefix = xasprintf("auth-v2/%s/%s/%s", req->app_key, req->timestamp,
				 SIGN_SIGNED_HEADERS);
	char *canonical = canonical_request(req);
	char *authorization;

	hmac_sha256_hex(req->secret, req->secret_len, prefix, strlen(prefix), signing_key);
	/* The second round is keyed with the signing key's hex text, not its raw digest. */
	hmac_sha256_hex(signing_key, HEX_SHA256_LEN, canonical, strlen(canonical), signature);
	OPENSSL_cleanse(signing_key, sizeof(signing_key));
	authorization = xasprintf("%s/%s", prefix, signature);
	free(prefix);
	if (canonical_out)
		*canonical_out = canonical;
	else
		free(canonical);
	return authorization;
}
