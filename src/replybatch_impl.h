/* replybatch_impl.h: what replybatch.c, replyentry.c and replyfield.c share: one parse's state. */
#ifndef AW_REPLYBATCH_IMPL_H
#define AW_REPLYBATCH_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonsax.h"
#include "replybatch.h"
#include "reply_impl.h"

/* The arena's spill chunks: at least this, for error texts past the first chunk's bound. */
#define SPILL_MIN 4096
/* The rank of no error: any field's beats it. */
#define RANK_NONE INT_MAX
/* replyfield.cur of a member not read, and of an element's agentId. */
#define CUR_NONE (-1)
#define CUR_AGENT (-2)

/* A member the daemon reads: an integer in min..max (its marks read as absent), or want says. */
struct field {
	const char *name;
	size_t len;
	const char *want;	/* "an integer", "a string", "an array" */
	bool required;		/* absent, or null for an integer, is an error */
	const long long *marks;	/* ending with 0, or NULL */
	long long min, max;
};

/*
 * An object being read (an entry, a call): its members' rules, which were seen, and the error of
 * the first field that fails in the order of fields[] (the order they are checked in), whatever
 * the members' order in the text.
 */
struct replyfield {
	const struct field *fields;
	size_t nfields;
	const char *list;	/* member names are "list[index].name"; "name" when NULL */
	size_t index;
	uint32_t seen;		/* bit f: fields[f] was a member */
	int cur;		/* the field of the member whose value comes next, or CUR_* */
	int rank;		/* the field of the error in why, or RANK_NONE */
	char why[REPLY_REASON_MAX];
};

/* What the open arrays and objects are, from the top. */
enum frame {
	F_SKIP = -1,		/* not entered */
	F_ENVELOPE,
	F_LIST,			/* the list read: its elements are the entries */
	F_DATAS,		/* resultDatas while resultDesc may follow: only its extent */
	F_ENTRY,		/* from here on, replyentry.c's */
	F_CALLS,		/* an entry's callList */
	F_CALL,
};
#define FRAMES_MAX 5

/* The envelope's members. */
enum member { M_CODE, M_DESC, M_DATAS, M_OTHER };

/* The envelope as read so far. */
struct envelope {
	struct reply_envelope env;
	unsigned seen;		/* bit m: member m was seen */
	enum member member;	/* the member whose value comes next */
	size_t datas_at, datas_end;	/* resultDatas's extent in the body */
};

/* The list read: resultDesc, or resultDatas read after the whole body. */
struct list {
	const char *field;
	size_t count;		/* its elements */
	bool failed;		/* an element no agent can own: why says which */
	char why[REPLY_REASON_MAX];
	size_t hint;		/* the asked agent after the last one found */
};

/* The element being read: its members, its agentId, and its entry, kept when it was asked. */
struct element {
	struct replyfield members;
	bool agent_seen;
	uint32_t agent_id;
	union {
		struct replybatch_calls calls;
		struct replybatch_state state;
	} entry;
};

/* The callList being read: calls kept in calls[] until its end, then copied to the arena. */
struct calls {
	size_t n;		/* elements so far */
	bool failed;		/* the first call that failed: why */
	char why[REPLY_REASON_MAX];
	struct reply_call calls[REPLY_MAX_CALLS];
	struct replyfield call;	/* the call object being read, calls[call.index] */
};

/* One parse: the answer being filled, the agents asked, where the stream is. */
struct parse {
	struct replybatch *out;
	const struct kind *k;
	const uint32_t *asked;
	size_t nasked;
	char *entries;		/* room for cap; out->nentries filled */
	size_t cap;
	enum frame frames[FRAMES_MAX];
	size_t nframes;
	bool datas_pass;	/* reading resultDatas's extent alone: its array is the top */
	struct envelope envelope;
	struct list list;
	struct element element;
	struct calls calls;
};

/* What differs between the two interfaces' entries; both start with agent_id. */
struct kind {
	size_t size;
	const struct field *fields;	/* the entry's members but agentId, in checking order */
	size_t nfields;
	void (*begin)(void *entry);	/* the defaults beyond all zero, or NULL */
	/* A member's value, fields[f]: the frame to enter for an array or object, or F_SKIP. */
	enum frame (*member)(struct parse *p, int f, const struct jsonsax_value *v);
	/* Marks entry unusable: error set, nothing else to be read. */
	void (*fail)(void *entry, const char *error);
	size_t (*bound)(size_t len);	/* arena bytes beyond the entries for a len-byte body */
};

/* replybatch.c: the answer's arena, and the answer's own errors. */

/* n bytes aligned to align (a power of 2) in b's arena; aborts when out of memory. */
void *replybatch_arena_alloc(struct replybatch *b, size_t n, size_t align);
/* A NUL-terminated copy of s[0..len) in b's arena. */
const char *replybatch_arena_strndup(struct replybatch *b, const char *s, size_t len);
/* An element no agent can own fails the answer: the first one's reason is kept. */
void replybatch_fail_list(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* uint32_t order, for qsort and bsearch. */
int replybatch_compare_u32(const void *a, const void *b);

/* replyentry.c: one element of the list, and the two interfaces' entries. */

extern const struct kind replyentry_calls_kind, replyentry_states_kind;

/* Element index of the list starts, an object (the caller checked). Returns F_ENTRY. */
enum frame replyentry_begin(struct parse *p, size_t index);
/* A member name of the element. */
void replyentry_key(struct parse *p, const char *name, size_t len);
/*
 * A value inside the element (frame, the innermost: F_ENTRY, F_CALLS or F_CALL): the frame to
 * enter for an array or object, or F_SKIP.
 */
enum frame replyentry_value(struct parse *p, enum frame frame, const struct jsonsax_value *v);
/* The end of such a frame; at F_ENTRY's, the entry is kept when its agent was asked. */
void replyentry_end(struct parse *p, enum frame frame);

/* replyfield.c: an object's members judged against its fields. */

enum got { GOT_VALUE, GOT_ABSENT, GOT_WRONG, GOT_RANGE };

void replyfield_begin(struct replyfield *o, const struct field *fields, size_t nfields,
		      const char *list, size_t index);
/* The name of field f of o as messages give it, in buf or static; f -1 is the object itself. */
const char *replyfield_name(const struct replyfield *o, int f, char *buf, size_t size);
/* A member name: sets o->cur. A field listed twice is its error, over the field's others. */
void replyfield_key(struct replyfield *o, const char *name, size_t len);
/* The required fields that were not members are errors. */
void replyfield_end(struct replyfield *o);
/* An error of field f, kept unless an earlier field has one. */
void replyfield_fail(struct replyfield *o, int f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* v is not of the type field f wants. */
void replyfield_wrong(struct replyfield *o, int f, const struct jsonsax_value *v);
/* Field f as an integer: GOT_VALUE with *n, GOT_ABSENT, or an error of o (GOT_WRONG, GOT_RANGE). */
enum got replyfield_int(struct replyfield *o, int f, const struct jsonsax_value *v, int64_t *n);
/*
 * Field f, a string, copied into b's arena; NULL after o's error when it breaks the call ID
 * rules (where and what name it in that message).
 */
const char *replyfield_text(struct replybatch *b, struct replyfield *o, int f, const char *where,
			    const char *what, const struct jsonsax_value *v);
/* An integer outside an object: judged, then what is wrong with it said into buf. */
enum got replyfield_get_int(const struct field *field, const struct jsonsax_value *v, int64_t *n);
void replyfield_int_problem(char *buf, size_t size, const char *name, const struct field *field,
			    const struct jsonsax_value *v, enum got got);
/* "NAME is TYPE[ VALUE], not WANT" into buf. */
void replyfield_wrong_type(char *buf, size_t size, const char *name, const struct jsonsax_value *v,
			   const char *want);

#endif
