/* wallboard: the supervisors' page at GET / with its script and style, embedded at build time. */
#ifndef AW_WALLBOARD_H
#define AW_WALLBOARD_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* One embedded file (src/wallboard.*), as src/embed.sh writes it into wallboard_assets.c. */
struct wallboard_asset {
	const char *path;		/* the URL path it is served at */
	const char *content_type;
	const unsigned char *data;	/* static, len bytes */
	size_t len;
	const char *etag;		/* quoted: "\"crc-len\"" of the file's bytes */
};

extern const struct wallboard_asset wallboard_assets[];
extern const size_t wallboard_nassets;

/*
 * Answers req when path is one of the page's (/, /wallboard.js, /wallboard.css): 200 with the
 * file, or 304 when If-None-Match names its ETag. Returns false, answering nothing, otherwise.
 */
bool wallboard_serve(struct http_req *req, const char *path);

#endif
