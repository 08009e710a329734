/* test_sign: the auth-v2 signer against the test vector of cms-api.md. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../src/sign.h"
#include "check.h"

static const char vector_body[] = "{\"ccId\":1,\"vdn\":170,\"agentId\":1099}";

static struct sign_request vector_request(void)
{
	struct sign_request req = {
		.method = "POST",
		.path = "/rest/cmsapp/v1/openapi/agent/queryagentcalls",
		.host = "192.0.2.10:28443",
		.body = vector_body,
		.body_len = sizeof(vector_body) - 1,
		.app_key = "TESTAK",
		.secret = "TESTSK",
		.secret_len = 6,
		.timestamp = "2024-01-02T03:04:05.678Z",
	};
	return req;
}

static void test_vector(void)
{
	struct sign_request req = vector_request();
	char *canonical = NULL;
	char *auth = sign_authorization(&req, &canonical);

	CHECK_INT(req.body_len, 35);
	CHECK_STR(auth, "auth-v2/TESTAK/2024-01-02T03:04:05.678Z/content-length;content-type;host/"
		  "d59060858351c90fd5100914d05d369c2739c927cdb9374729f8e68b6cab454d");
	CHECK_STR(canonical,
		  "POST\n/rest/cmsapp/v1/openapi/agent/queryagentcalls\n\n"
		  "content-length;content-type;host\n"
		  "content-length:35\n"
		  "content-type:application%2Fjson%3Bcharset%3DUTF-8\n"
		  "host:192.0.2.10%3A28443\n"
		  "%7B%22ccId%22%3A1%2C%22vdn%22%3A170%2C%22agentId%22%3A1099%7D");
	/* The operator's view must never contain the secret or the signing key. */
	CHECK(strstr(canonical, "TESTSK") == NULL);
	CHECK(strstr(canonical, "0c678bd23efe2fc12091cf785e419d78227d77809198e17a1bd145fede5486d7") == NULL);
	free(auth);
	free(canonical);
}

/* Every input the signature covers must change it. */
static void test_inputs_matter(void)
{
	struct sign_request base = vector_request();
	char *reference = sign_authorization(&base, NULL);
	struct sign_request variants[5];
	static const char other_body[] = "{\"ccId\":1,\"vdn\":170,\"agentId\":1098}";

	for (size_t i = 0; i < 5; i++)
		variants[i] = base;
	variants[0].secret = "TESTSL";
	variants[1].host = "192.0.2.10:28444";
	variants[2].body = other_body;
	variants[3].path = "/rest/cmsapp/v1/openapi/agent/queryagentcall";
	variants[4].timestamp = "2024-01-02T03:04:05.679Z";
	for (size_t i = 0; i < 5; i++) {
		char *auth = sign_authorization(&variants[i], NULL);

		CHECK(strcmp(auth, reference) != 0);
		free(auth);
	}
	free(reference);
}

/* Bytes outside the unreserved set are escaped, upper-case hex, including UTF-8 and '~' kept. */
static void test_normalization(void)
{
	struct sign_request req = vector_request();
	static const char body[] = "{\"n\":\"a~b c\xc3\xa9\"}";
	char *canonical = NULL;
	char *auth;

	req.body = body;
	req.body_len = sizeof(body) - 1;
	auth = sign_authorization(&req, &canonical);
	CHECK(strstr(canonical, "\ncontent-length:15\n") != NULL);
	CHECK(strstr(canonical, "%7B%22n%22%3A%22a~b%20c%C3%A9%22%7D") != NULL);
	free(auth);
	free(canonical);
}

int main(void)
{
	test_vector();
	test_inputs_matter();
	test_normalization();
	return check_done("test_sign");
}
