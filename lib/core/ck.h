/* SPDX-License-Identifier: ISC */
/* Checked helpers (after lighttpd's ck_*): allocation that cannot return NULL,
 * constant-time comparison, strict number parsing. */
#ifndef KG_CK_H
#define KG_CK_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *ck_malloc(size_t n);
void *ck_calloc(size_t n, size_t size);
void *ck_realloc(void *p, size_t n);
char *ck_strdup(const char *s);
char *ck_strndup(const char *s, size_t n);

/* Constant-time equality of two byte ranges (time depends only on the lengths). */
bool ck_memeq_const(const void *a, size_t alen, const void *b, size_t blen);
/* Wipe memory that held a secret; not optimised away. */
void ck_memzero(void *p, size_t n);

/* Parse a whole decimal string of at most 18 digits, optional leading '-'. */
bool ck_parse_i64(const char *s, int64_t *out);
/* True if s consists of exactly n ASCII digits. */
bool ck_digits(const char *s, size_t n);
/* s is one number in decimal notation (digits, sign, point, exponent) with a
 * finite value: not "NaN", "Infinity" or anything else strtod or PostgreSQL
 * numeric would read as one. */
bool ck_finite_number(const char *s);
/* A real Gregorian calendar day (no 31 April, 29 February in leap years only). */
bool ck_civil_date(unsigned year, unsigned month, unsigned day);

#endif
