/* sign: the CMS "auth-v2" request signature (canonical request + two HMAC-SHA256 rounds). */
#ifndef AW_SIGN_H
#define AW_SIGN_H

#include <stddef.h>

#define SIGN_CONTENT_TYPE "application/json;charset=UTF-8"
#define SIGN_SIGNED_HEADERS "content-length;content-type;host"

struct sign_request {
	const char *method;	/* "POST" */
	const char *path;	/* "/rest/cmsapp/v1/openapi/agent/queryagentcalls" */
	const char *host;	/* "host:port", the Host header sent */
	const char *body;
	size_t body_len;
	const char *app_key;
	const char *secret;
	size_t secret_len;
	const char *timestamp;	/* yyyy-MM-dd'T'HH:mm:ss.SSS'Z', as util_format_time() writes */
};

/*
 * Returns the Authorization header value (malloc'd). When canonical is not NULL it receives the
 * canonical request that was signed (malloc'd), for an operator comparing with Huawei's demo;
 * it never contains the secret or the signing key.
 */
char *sign_authorization(const struct sign_request *req, char **canonical);

#endif
