/* wallboard: the supervisors' page at GET / with its script and style, embedded at build time. */
#include "config.h"

#include <string.h>

#include "wallboard.h"

/*
 * Script and style come from this origin only, as files of their own, never inline: no hashes
 * to keep in step with the page, and an injected tag or attribute runs nothing. connect-src
 * 'self' covers the API and the event stream; no frames, forms, plugins or base rewriting.
 */
#define WALLBOARD_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'"

static void send_asset(struct http_req *req, const struct wallboard_asset *a)
{
	/* no-cache: the browser keeps the files but asks each time; an upgrade shows at once. */
	const char *headers[] = {
		"Content-Security-Policy", WALLBOARD_CSP,
		"Cache-Control", "no-cache",
		"ETag", a->etag,
		"X-Content-Type-Options", "nosniff",
		"Referrer-Policy", "no-referrer",
		NULL,
	};
	const char *match = http_header(req, "If-None-Match");

	if (match && strstr(match, a->etag))
		http_reply_static(req, 304, NULL, "", 0, headers);
	else
		http_reply_static(req, 200, a->content_type, a->data, a->len, headers);
}

bool wallboard_serve(struct http_req *req, const char *path)
{
	for (size_t i = 0; i < wallboard_nassets; i++) {
		if (strcmp(wallboard_assets[i].path, path) == 0) {
			send_asset(req, &wallboard_assets[i]);
			return true;
		}
	}
	return false;
}
