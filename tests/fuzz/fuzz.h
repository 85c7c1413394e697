/* SPDX-License-Identifier: ISC */
/* Shared helpers for the libFuzzer drivers in tests/fuzz/ (see README.md).
 *
 * A driver checks invariants with FUZZ_CHECK: a violated invariant prints
 * what was expected and aborts, which libFuzzer reports as a crash and saves
 * the input, exactly like a sanitizer report. */
#ifndef KG_FUZZ_H
#define KG_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "\nFUZZ INVARIANT FAILED %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* A NUL-terminated heap copy of the input (for APIs taking C strings). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	if (n)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Independent UTF-8 well-formedness check, straight from Unicode 15 table 3-7
 * (well-formed byte sequences): no overlongs, no surrogates, <= U+10FFFF. */
static inline bool fuzz_utf8_ok(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n) {
		unsigned char a = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t len;

		if (a <= 0x7F) { i++; continue; }
		else if (a >= 0xC2 && a <= 0xDF) len = 2;
		else if (a == 0xE0) { len = 3; lo = 0xA0; }
		else if (a >= 0xE1 && a <= 0xEC) len = 3;
		else if (a == 0xED) { len = 3; hi = 0x9F; }
		else if (a >= 0xEE && a <= 0xEF) len = 3;
		else if (a == 0xF0) { len = 4; lo = 0x90; }
		else if (a >= 0xF1 && a <= 0xF3) len = 4;
		else if (a == 0xF4) { len = 4; hi = 0x8F; }
		else return false;
		if (n - i < len)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += len;
	}
	return true;
}

/* A C string that fits in a field of size bytes: NUL within the array. */
static inline bool fuzz_terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

#endif
