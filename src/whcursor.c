/* whcursor: where each webhook receiver is in the event log, saved in state_dir across restarts. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "util.h"
#include "whsender.h"
#include "writer.h"

#define SAVE_PERIOD_US 1000000ull	/* a moving cursor is saved at most this often */

char *whcursor_key(const struct cfg_webhook *w)
{
	return xasprintf("%s %s", w->format == CFG_WEBHOOK_ALERTMANAGER ? "alertmanager" : "json",
			 w->url);
}

/* webhook-<16 hex digits of SHA-256 of the key>.cursor */
char *whcursor_path(const char *dir, const char *key)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	EVP_Digest(key, strlen(key), digest, &n, EVP_sha256(), NULL);
	util_hex_lower(digest, 8, hex);
	return xasprintf("%s/webhook-%s.cursor", dir, hex);
}

static void save_cursor(struct sender *s)
{
	struct json_object *o;
	const char *text;

	if (!s->cursor_path)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "receiver", json_object_new_string(s->key));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)s->cursor.seq));
	json_object_object_add(o, "segment", json_object_new_int64((int64_t)s->cursor.segment));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)s->cursor.offset));
	json_object_object_add(o, "firing", alertmgr_set_to_json(&s->firing));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	/*
	 * Not fsynced: losing the newest cursor only re-sends events, with the same ids. Renamed
	 * into place by the writer thread, which keeps only the newest of a burst.
	 */
	writer_save_file(evlog_writer(s->set->log), s->cursor_path, text, strlen(text), false);
	json_object_put(o);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) && json_object_is_type(f, json_type_int) &&
	       json_object_get_int64(f) > 0 ? (uint64_t)json_object_get_int64(f) : 0;
}

/*
 * Whether a reload removed this receiver before: its cursor file is stale, and may still be there
 * while the writer has its removal queued. Forgets it: the receiver is back.
 */
static bool was_removed(struct webhooks *set, const char *key)
{
	for (size_t i = 0; i < set->nremoved; i++) {
		if (strcmp(set->removed[i], key) == 0) {
			free(set->removed[i]);
			set->removed[i] = set->removed[--set->nremoved];
			return true;
		}
	}
	return false;
}

/*
 * A receiver seen before resumes where it was; a new one, or one a reload removed and another
 * added back, gets only events from now on.
 */
void whcursor_load(struct sender *s)
{
	struct json_object *o = s->cursor_path && !was_removed(s->set, s->key) ?
				json_object_from_file(s->cursor_path) : NULL;
	struct json_object *firing = NULL;
	uint64_t next = evlog_next_seq(s->set->log);

	s->cursor = evlog_end(s->set->log);
	if (!o)
		return;
	if (get_u64(o, "seq") && get_u64(o, "seq") <= next) {
		s->cursor.seq = get_u64(o, "seq");
		s->cursor.segment = get_u64(o, "segment");
		s->cursor.offset = get_u64(o, "offset");
		if (s->cursor.seq < next)
			log_notice("webhook %s: resuming with %" PRIu64 " undelivered events", s->shown,
				   next - s->cursor.seq);
	}
	json_object_object_get_ex(o, "firing", &firing);
	alertmgr_set_from_json(&s->firing, firing);
	alertmgr_set_from_json(&s->ahead, firing);
	json_object_put(o);
}

/* Saves the cursor and the firing alerts now; every save goes through save_cursor. */
void whcursor_checkpoint(struct sender *s)
{
	save_cursor(s);
	s->saved = s->cursor;
	s->p.dirty = false;
	s->p.save_at_us = util_now_monotonic_us() + SAVE_PERIOD_US;
}

/* The cursor goes to the oldest unacknowledged item, or where reading is when there is none. */
void whcursor_update(struct sender *s)
{
	struct whqueue_item *front;

	whqueue_pop_done(&s->queue);
	front = whqueue_front(&s->queue);
	if (front ? front->pos.seq != s->cursor.seq : s->read.seq != s->cursor.seq)
		s->p.dirty = true;
	s->cursor = front ? front->pos : s->read;
}

static bool cursor_in_use(const struct webhooks *set, const char *path)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->cursor_path && strcmp(set->v[i]->cursor_path, path) == 0)
			return true;
	return false;
}

/* The receiver a cursor file was for, as it may be logged: its key is "FORMAT URL". */
static char *cursor_receiver(const char *path)
{
	struct json_object *o = json_object_from_file(path), *key;
	const char *url = NULL;
	char *shown;

	if (o && json_object_object_get_ex(o, "receiver", &key) &&
	    (url = strchr(json_object_get_string(key), ' ')))
		url++;
	shown = util_url_origin(url ? url : "?");
	json_object_put(o);
	return shown;
}

/*
 * At start: removes the cursor files of receivers no longer configured, so that one added again
 * later starts at the log's end like any new receiver, not at a stale position. (A receiver a
 * reload removes has its file removed by sender_free.)
 */
void whcursor_prune(struct webhooks *set)
{
	DIR *d = set->state_dir ? opendir(set->state_dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *path, *shown;

		if (fnmatch("webhook-*.cursor", e->d_name, FNM_PERIOD) != 0)
			continue;
		path = xasprintf("%s/%s", set->state_dir, e->d_name);
		if (!cursor_in_use(set, path)) {
			shown = cursor_receiver(path);
			if (unlink(path) == 0)
				log_notice("%s: removed, its receiver (%s) is no longer configured",
					   path, shown);
			else
				log_warn("%s: %s", path, strerror(errno));
			free(shown);
		}
		free(path);
	}
	if (d)
		closedir(d);
}
