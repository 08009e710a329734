/* api: the HTTP paths: /healthz, /metrics, /api/v1/agents, /api/v1/events and its SSE stream. */
#ifndef AW_API_H
#define AW_API_H

#include <systemd/sd-event.h>

#include "apiview.h"
#include "cfg.h"

/* A stream client this many events behind the newest is cut off: it cannot keep up. */
#define API_STREAM_BACKLOG_MAX 50000
#define API_STREAM_PING_US (15 * 1000000ull)	/* a comment line keeps idle streams alive */
#define API_EVENTS_LIMIT_MAX 1000
/* Streams are woken at most this often: one send per client carries many events. */
#define API_STREAM_BATCH_US 50000

/* Fills view with the daemon's state of now; called at each request. */
typedef void (*api_view_fn)(void *ctx, struct api_view *view);

struct api;

struct api *api_new(sd_event *event, api_view_fn view, void *ctx);
/* Applies http settings (see http_configure); returns 0 or -1 (logged). */
int api_configure(struct api *api, const struct cfg_http *cfg);
/* New events are in the log: streams send them within API_STREAM_BATCH_US. */
void api_kick(struct api *api);
/* Closes every connection; call before the event log goes away. NULL is fine. */
void api_free(struct api *api);

#endif
