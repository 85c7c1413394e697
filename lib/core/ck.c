/* SPDX-License-Identifier: ISC */
#include "ck.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

static void *ck_oom(size_t n)
{
	fprintf(stderr, "koogate: out of memory allocating %zu bytes\n", n);
	abort();
}

void *ck_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : ck_oom(n);
}

void *ck_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : ck_oom(n * size);
}

void *ck_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : ck_oom(n);
}

char *ck_strdup(const char *s)
{
	return ck_strndup(s, strlen(s));
}

char *ck_strndup(const char *s, size_t n)
{
	char *p = ck_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

bool ck_memeq_const(const void *a, size_t alen, const void *b, size_t blen)
{
	/* Compare against ourselves when lengths differ so the time does not
	 * reveal where the first difference is. */
	if (alen != blen) {
		(void)CRYPTO_memcmp(a, a, alen);
		return false;
	}
	return CRYPTO_memcmp(a, b, alen) == 0;
}

void ck_memzero(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

bool ck_parse_i64(const char *s, int64_t *out)
{
	int64_t v = 0;
	bool neg = false;
	size_t n = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 18)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return true;
}

bool ck_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[n] == '\0';
}

bool ck_civil_date(unsigned year, unsigned month, unsigned day)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (year < 1 || month < 1 || month > 12 || day < 1)
		return false;
	return day <= (unsigned)mdays[month - 1] + (month == 2 && leap ? 1u : 0u);
}

bool ck_finite_number(const char *s)
{
	char *end;
	double d;

	/* Digits first: strtod also reads "nan", "inf" and hex. */
	if (!s || !*s || strspn(s, "+-0123456789.eE") != strlen(s))
		return false;
	errno = 0;
	d = strtod(s, &end);
	return *end == '\0' && errno != ERANGE && isfinite(d);
}
