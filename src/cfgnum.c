/* cfgnum: the numbers of a configuration as written, where libconfig 1.5 kept less. */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgnum.h"
#include "util.h"
#include "utf8.h"

/* One number literal: where it is in its file's text. */
struct token {
	size_t off, len;
};

/* A file's literals of one kind, handed out in order. */
struct tokens {
	struct token *tok;
	size_t n, cap, next;
};

/* One file's numbers; an included file may be read more than once. */
struct file {
	const char *name;	/* as libconfig names it */
	char *text;		/* NULL: unreadable */
	struct tokens ints, floats;
};

struct scan {
	struct cfgnum *ci;
	const char *main_path, *include_dir;
	struct file *files;
	size_t nfiles;
};

static size_t span(const char *p, const char *set)
{
	return strspn(p, set);
}

#define DIGITS "0123456789"
#define HEX DIGITS "abcdefABCDEF"

static size_t sign_len(const char *p)
{
	return *p == '-' || *p == '+';
}

/* An exponent [eE][-+]?[0-9]+ at p, or 0. */
static size_t exponent_len(const char *p)
{
	size_t s, d;

	if (*p != 'e' && *p != 'E')
		return 0;
	s = sign_len(p + 1);
	d = span(p + 1 + s, DIGITS);
	return d ? 1 + s + d : 0;
}

/*
 * libconfig's float, the longer of [-+]?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)? and
 * [-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+.
 */
static size_t float_len(const char *p)
{
	size_t s = sign_len(p), d = span(p + s, DIGITS), n1 = 0, n2 = 0, i;

	if (p[s + d] == '.') {
		i = s + d + 1;
		i += span(p + i, DIGITS);
		n1 = i + exponent_len(p + i);
	}
	if (d) {
		i = s + d;
		if (p[i] == '.')
			i += 1 + span(p + i + 1, DIGITS);
		n2 = exponent_len(p + i) ? i + exponent_len(p + i) : 0;
	}
	return n1 > n2 ? n1 : n2;
}

/* An L or LL suffix at p. */
static size_t suffix_len(const char *p)
{
	return p[0] != 'L' ? 0 : p[1] == 'L' ? 2 : 1;
}

/* libconfig's integer [-+]?[0-9]+ and hex 0[Xx][0-9A-Fa-f]+, each with an optional L or LL. */
static size_t int_len(const char *p)
{
	size_t s = sign_len(p), n;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && (n = span(p + 2, HEX)))
		return 2 + n + suffix_len(p + 2 + n);
	if (!(n = span(p + s, DIGITS)))
		return 0;
	return s + n + suffix_len(p + s + n);
}

/* The end of a string or an @include name: a '"' not escaped by a backslash. */
static const char *string_end(const char *p)
{
	for (; *p && *p != '"'; p++)
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
	return *p ? p + 1 : p;
}

/* The text after a comment or a quoted string that starts at p; p itself for anything else. */
static const char *skip_quoted(const char *p)
{
	const char *end;

	if (*p == '#' || (p[0] == '/' && p[1] == '/'))
		return p + strcspn(p, "\n");
	if (p[0] == '/' && p[1] == '*')
		return (end = strstr(p + 2, "*/")) ? end + 2 : p + strlen(p);
	if (*p == '"')
		return string_end(p + 1);
	/* libconfig takes @include only at the start of a line: anywhere else the file would not
	 * have parsed, so the name that follows can be skipped as a string. */
	if (*p == '@' && (end = strchr(p, '"')) && end - p < 64)
		return string_end(end + 1);
	return p;
}

static void add_token(struct tokens *t, size_t off, size_t len)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->tok = xreallocarray(t->tok, t->cap, sizeof *t->tok);
	}
	t->tok[t->n++] = (struct token){ off, len };
}

/*
 * Lists the number literals of f's text as libconfig 1.5's scanner (lib/scanner.l) cuts it:
 * the longest match wins, names swallow the digits inside them, strings and comments hold none.
 * The file parsed, so only tokens a valid file can hold need to be told apart.
 */
static void tokenize(struct file *f)
{
	const char *t = f->text, *p = t, *q;
	size_t fl, il;

	while (*p) {
		if ((q = skip_quoted(p)) != p) {
			p = q;
		} else if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*", *p)) {
			p += 1 + span(p + 1, "-_*ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 DIGITS);
		} else if (strchr("-+." DIGITS, *p)) {
			fl = float_len(p);
			il = int_len(p);
			if (il > fl)
				add_token(&f->ints, (size_t)(p - t), il);
			else if (fl)
				add_token(&f->floats, (size_t)(p - t), fl);
			p += il > fl ? il : fl ? fl : 1;
		} else {
			p++;
		}
	}
}

/* The whole text: up to a NUL byte, which cfg refuses before libconfig reads the file. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &size, '\0', f) < 0) {
		free(text);
		text = ferror(f) ? NULL : xstrdup("");
	}
	fclose(f);
	return text;
}

static struct file *file_of(struct scan *sc, const config_setting_t *s)
{
	const char *name = config_setting_source_file(s);
	struct file *f;
	char *path;

	if (!name)
		name = sc->main_path;
	for (size_t i = 0; i < sc->nfiles; i++)
		if (strcmp(sc->files[i].name, name) == 0)
			return &sc->files[i];
	sc->files = xreallocarray(sc->files, sc->nfiles + 1, sizeof *sc->files);
	f = &sc->files[sc->nfiles++];
	*f = (struct file){ .name = name };
	path = strcmp(name, sc->main_path) == 0 ? xstrdup(name)
					       : xasprintf("%s/%s", sc->include_dir, name);
	if ((f->text = read_text(path)))
		tokenize(f);
	free(path);
	return f;
}

/* The written value of a literal; false when it does not fit a long long (then saturated). */
static bool literal_value(const char *text, bool hex, long long *value)
{
	unsigned long long u;

	errno = 0;
	if (!hex) {
		*value = strtoll(text, NULL, 10);
		return errno != ERANGE;
	}
	u = strtoull(text, NULL, 16);
	*value = u > LLONG_MAX ? LLONG_MAX : (long long)u;
	return errno != ERANGE && u <= LLONG_MAX;
}

/*
 * Whether libconfig would have stored what s holds for this literal: Debian's 1.5 keeps a
 * literal without L as (int)strtol or (int)strtoul, one with L as strtoll or strtoull; later
 * releases give a decimal literal that does not fit 32 bits the 64-bit type instead.
 */
static bool explains(const config_setting_t *s, const char *text, size_t len, bool hex)
{
	bool l = text[len - 1] == 'L';
	long long stored = config_setting_get_int64(s);
	long long full = hex ? (long long)strtoull(text, NULL, 16) : strtoll(text, NULL, 10);
	int narrow = hex ? (int)strtoul(text, NULL, 16) : (int)strtol(text, NULL, 10);

	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return stored == full;
	return !l && stored == narrow;
}

static void add_lost(struct cfgnum *ci, const config_setting_t *s, const char *text, size_t len,
		     long long value, double number)
{
	struct cfgnum_literal *lit;

	if (ci->nlost == ci->lostcap) {
		ci->lostcap = ci->lostcap ? 2 * ci->lostcap : 8;
		ci->lost = xreallocarray(ci->lost, ci->lostcap, sizeof *ci->lost);
	}
	lit = &ci->lost[ci->nlost++];
	lit->setting = s;
	lit->value = value;
	lit->number = number;
	lit->text = len <= CFGNUM_TEXT_MAX ? xstrndup(text, len)
		    : xasprintf("%.*s%s", CFGNUM_TEXT_MAX - 3, text, UTF8_CUT_MARK);
}

/*
 * The next literal of t, as a string of its own (the caller frees it), for setting s of file
 * f; NULL, and s noted as unmatched, when the file has none. A file included twice gives its
 * settings twice over: after its last literal comes its first again.
 */
static char *next_literal(struct scan *sc, const config_setting_t *s, const struct file *f,
			  struct tokens *t)
{
	const struct token *tk;

	if (!t->n) {
		sc->ci->unmatched = s;
		return NULL;
	}
	tk = &t->tok[t->next++ % t->n];
	return xstrndup(f->text + tk->off, tk->len);
}

static void match_int(struct scan *sc, const config_setting_t *s)
{
	struct file *f = file_of(sc, s);
	char *text = next_literal(sc, s, f, &f->ints);
	size_t len = text ? strlen(text) : 0;
	long long value;
	bool hex, exact;

	if (!text)
		return;
	hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
	if (!explains(s, text, len, hex)) {
		sc->ci->unmatched = s;
	} else {
		exact = literal_value(text, hex, &value);
		/* strtod takes hex too, and stops at an L suffix. */
		if (!exact || value != config_setting_get_int64(s))
			add_lost(sc->ci, s, text, len, value, strtod(text, NULL));
	}
	free(text);
}

/*
 * libconfig keeps a float as atof() gives it: past DBL_MAX it is inf, and below the smallest
 * double it is 0, which would turn a tiny duration into "off". The written value of the
 * latter is kept as the smallest double of its sign.
 */
static void match_float(struct scan *sc, const config_setting_t *s)
{
	struct file *f = file_of(sc, s);
	char *text = next_literal(sc, s, f, &f->floats);
	double v;

	if (!text)
		return;
	errno = 0;
	v = strtod(text, NULL);
	if (v != config_setting_get_float(s))
		sc->ci->unmatched = s;
	else if (errno == ERANGE)
		add_lost(sc->ci, s, text, strlen(text), 0, v == 0 ? copysign(DBL_TRUE_MIN, v) : v);
	free(text);
}

/* Depth first is file order: libconfig appends each setting to its parent as it parses it. */
static void walk(struct scan *sc, const config_setting_t *s)
{
	if (sc->ci->unmatched)
		return;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		match_int(sc, s);
		break;
	case CONFIG_TYPE_FLOAT:
		match_float(sc, s);
		break;
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		for (int i = 0; i < config_setting_length(s); i++)
			walk(sc, config_setting_get_elem(s, (unsigned)i));
		break;
	default:
		break;
	}
}

static int lost_cmp(const void *a, const void *b)
{
	const config_setting_t *x = ((const struct cfgnum_literal *)a)->setting;
	const config_setting_t *y = ((const struct cfgnum_literal *)b)->setting;

	return (x > y) - (x < y);
}

void cfgnum_scan(struct cfgnum *ci, const config_setting_t *root, const char *main_path,
		 const char *include_dir)
{
	struct scan sc = { .ci = ci, .main_path = main_path, .include_dir = include_dir };

	walk(&sc, root);
	if (ci->nlost)
		qsort(ci->lost, ci->nlost, sizeof *ci->lost, lost_cmp);
	for (size_t i = 0; i < sc.nfiles; i++) {
		free(sc.files[i].text);
		free(sc.files[i].ints.tok);
		free(sc.files[i].floats.tok);
	}
	free(sc.files);
}

const struct cfgnum_literal *cfgnum_find(const struct cfgnum *ci, const config_setting_t *s)
{
	const struct cfgnum_literal key = { .setting = s };

	if (!ci->nlost)
		return NULL;
	return bsearch(&key, ci->lost, ci->nlost, sizeof *ci->lost, lost_cmp);
}

void cfgnum_free(struct cfgnum *ci)
{
	for (size_t i = 0; i < ci->nlost; i++)
		free(ci->lost[i].text);
	free(ci->lost);
	*ci = (struct cfgnum){ 0 };
}
