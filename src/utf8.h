/* utf8: checking UTF-8 text, and cutting it only between characters, with a marker. */
#ifndef AW_UTF8_H
#define AW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* What a cut leaves at its end: ASCII, so every sink takes it. */
#define UTF8_CUT_MARK "..."

/*
 * Returns the length of the valid UTF-8 character at s (1 to 4 bytes of the n available), or 0
 * when s does not start one: a stray continuation byte, an overlong form, a surrogate, a code
 * point above U+10FFFF or a sequence cut short.
 */
size_t utf8_char_len(const char *s, size_t n);

/* True when s[0..n) is all valid UTF-8; otherwise *bad, when not NULL, is the first bad byte. */
bool utf8_valid(const char *s, size_t n, size_t *bad);

/* The largest length <= max that does not end inside a character of s (n bytes long). */
size_t utf8_cut(const char *s, size_t n, size_t max);

/*
 * Copies the NUL-terminated src into buf of size bytes (size >= 1). When it does not fit, it is
 * cut between two characters and UTF8_CUT_MARK follows. Returns true when src was cut.
 */
bool utf8_copy(char *buf, size_t size, const char *src);

#endif
