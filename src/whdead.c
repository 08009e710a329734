/* whdead: events a webhook receiver refuses for good, kept in deadletter.jsonl (rotated). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "reply.h"
#include "util.h"
#include "whsender.h"
#include "writer.h"

#define RESPONSE_KEEP WHREQ_RESPONSE_KEEP	/* bytes of a refusal kept for dead letters */

/* "webhook-HHHHHHHHHHHHHHHH": the name of the receiver's cursor file without ".cursor". */
static struct json_object *receiver_name(const struct sender *s)
{
	const char *base = strrchr(s->cursor_path, '/') + 1;

	return json_object_new_string_len(base, (int)strcspn(base, "."));
}

/*
 * Once deadletter.jsonl has reached deadletter_max bytes it becomes deadletter.jsonl.1 and the
 * older ones move up by one; the one past WEBHOOK_DEADLETTER_KEEP is overwritten, so the files
 * stay within about (KEEP + 1) * deadletter_max bytes. Done by the writer thread, in order with
 * the appends.
 */
struct rotate_job {
	char *path;
	uint64_t max;
	off_t size;		/* the size it had when it was rotated; 0 when it was not */
	unsigned failed;	/* the rename that failed, if one did */
};

static int rotate_work(void *arg)
{
	struct rotate_job *j = arg;
	struct stat st;
	int err = 0;

	if (stat(j->path, &st) < 0 || (uint64_t)st.st_size < j->max)
		return 0;
	j->size = st.st_size;
	for (unsigned i = WEBHOOK_DEADLETTER_KEEP; i > 0; i--) {
		char *from = i > 1 ? xasprintf("%s.%u", j->path, i - 1) : xstrdup(j->path);
		char *to = xasprintf("%s.%u", j->path, i);

		if (rename(from, to) < 0 && errno != ENOENT && !err) {
			err = errno;
			j->failed = i;
		}
		free(from);
		free(to);
	}
	return err;
}

static void rotate_done(void *arg, int err)
{
	struct rotate_job *j = arg;

	if (err)
		log_err("%s: cannot rotate to %s.%u: %s", j->path, j->path, j->failed,
			strerror(err));
	else if (j->size)
		log_notice("%s: %lld bytes, rotated to %s.1 (%u older files kept, the oldest dropped)",
			   j->path, (long long)j->size, j->path, WEBHOOK_DEADLETTER_KEEP);
	free(j->path);
	free(j);
}

static void rotate_deadletter(struct webhooks *set, const char *path)
{
	struct rotate_job *j;

	if (!set->deadletter_max)
		return;
	j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(path);
	j->max = set->deadletter_max;
	if (!writer_submit(evlog_writer(set->log), rotate_work, rotate_done, j))
		rotate_done(j, rotate_work(j));
}

void whdead_letter(struct sender *s, struct whreq *r, long status, const char *why)
{
	char shown[RESPONSE_KEEP + 8] = "";
	char when[UTIL_TIME_LEN];
	struct json_object *entry = json_object_new_object();
	char *path, *line;

	reply_sanitize(r->response ? r->response : "", r->response_len, shown, sizeof(shown));
	log_err("webhook %s: HTTP %ld refuses %zu event%s for good (%s); %s", s->shown, status,
		r->n, r->n == 1 ? "" : "s", why,
		s->set->state_dir ? "kept in " WEBHOOK_DEADLETTER : "dropped (no state_dir)");
	s->stats.dead_lettered += r->n;
	if (!s->set->state_dir) {
		json_object_put(entry);
		return;
	}
	util_format_time(util_now_realtime_us(), when);
	json_object_object_add(entry, "time", json_object_new_string(when));
	json_object_object_add(entry, "webhook", json_object_new_string(s->shown));
	/* Receivers on one host (hooks.slack.com) differ in the token: tell them apart by the
	 * name of their cursor file instead. */
	json_object_object_add(entry, "receiver", receiver_name(s));
	json_object_object_add(entry, "http_status", json_object_new_int64(status));
	json_object_object_add(entry, "response", json_object_new_string(shown));
	json_object_object_add(entry, "payload", json_tokener_parse(r->body));
	path = xasprintf("%s/%s", s->set->state_dir, WEBHOOK_DEADLETTER);
	line = xasprintf("%s\n", json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	/* Rotated, appended and fdatasync'd by the writer thread, in order with the other disk work. */
	rotate_deadletter(s->set, path);
	writer_append_file(evlog_writer(s->set->log), path, line, strlen(line));
	free(line);
	free(path);
	json_object_put(entry);
}
