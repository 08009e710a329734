/* check: the few assertion macros the unit tests share; a failed check is counted, not fatal. */
#ifndef AW_CHECK_H
#define AW_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { \
	check_count++; \
	if (!(cond)) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *got_ = (got), *want_ = (want); \
	check_count++; \
	if (!got_ || strcmp(got_, want_) != 0) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
			#got, got_ ? got_ : "(null)", want_); \
	} \
} while (0)

#define CHECK_INT(got, want) do { \
	long long got_ = (long long)(got), want_ = (long long)(want); \
	check_count++; \
	if (got_ != want_) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, got_, \
			want_); \
	} \
} while (0)

/* Prints the summary automake's log keeps and turns failures into the exit status. */
static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
