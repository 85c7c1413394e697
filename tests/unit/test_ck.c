/* SPDX-License-Identifier: ISC */
/* Checked helpers (ck.h): constant-time comparison and strict number parsing. */
#include "unit.h"

#include <stdint.h>

#include "ck.h"

TEST(memeq_equal)
{
	CHECK(ck_memeq_const("abcdef", 6, "abcdef", 6));
	CHECK(ck_memeq_const("a\0b", 3, "a\0b", 3));
}

TEST(memeq_different)
{
	CHECK(!ck_memeq_const("abcdef", 6, "abcdeg", 6));
	CHECK(!ck_memeq_const("abcdef", 6, "bbcdef", 6));
	CHECK(!ck_memeq_const("a\0b", 3, "a\0c", 3));
	CHECK(!ck_memeq_const("A", 1, "a", 1));
}

TEST(memeq_different_lengths)
{
	CHECK(!ck_memeq_const("abc", 3, "abcd", 4));
	CHECK(!ck_memeq_const("abcd", 4, "abc", 3));
	CHECK(!ck_memeq_const("abc", 3, "", 0));
	CHECK(!ck_memeq_const("", 0, "abc", 3));
}

TEST(memeq_empty)
{
	CHECK(ck_memeq_const("", 0, "", 0));
	CHECK(ck_memeq_const("x", 0, "y", 0));
}

static void check_i64(const char *s, int64_t want)
{
	int64_t v = 12345;

	CHECK_MSG(ck_parse_i64(s, &v), "ck_parse_i64(\"%s\") failed", s);
	CHECK_INT_EQ(v, want);
}

TEST(parse_i64_values)
{
	check_i64("0", 0);
	check_i64("-0", 0);
	check_i64("7", 7);
	check_i64("-7", -7);
	check_i64("00042", 42);
	check_i64("1680508237508", INT64_C(1680508237508));
	check_i64("20200727073711903", INT64_C(20200727073711903));
}

TEST(parse_i64_limits)
{
	int64_t v;

	check_i64("999999999999999999", INT64_C(999999999999999999));      /* 18 digits */
	check_i64("-999999999999999999", -INT64_C(999999999999999999));
	CHECK(!ck_parse_i64("1000000000000000000", &v));                     /* 19 digits */
	CHECK(!ck_parse_i64("-1000000000000000000", &v));
	CHECK(!ck_parse_i64("9223372036854775807", &v));
	CHECK(!ck_parse_i64("9223372036854775808", &v));
	CHECK(!ck_parse_i64("-9223372036854775808", &v));
	CHECK(!ck_parse_i64("99999999999999999999999", &v));
}

TEST(parse_i64_signs)
{
	int64_t v;

	CHECK(!ck_parse_i64("+1", &v));
	CHECK(!ck_parse_i64("--1", &v));
	CHECK(!ck_parse_i64("-", &v));
	CHECK(!ck_parse_i64("1-", &v));
	CHECK(!ck_parse_i64("-+1", &v));
}

TEST(parse_i64_junk)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "1a", "a1", "0x10", "1.0", "1e3", "\t1", "1\n", "\xef\xbc\x91",
	};
	int64_t v;
	size_t i;

	for (i = 0; i < UNIT_COUNT(bad); i++)
		CHECK_MSG(!ck_parse_i64(bad[i], &v), "accepted \"%s\"", bad[i]);
}

TEST(digits_exact_count)
{
	CHECK(ck_digits("20200727073711903", 17));
	CHECK(ck_digits("1680508237508", 13));
	CHECK(ck_digits("", 0));
	CHECK(!ck_digits("2020072707371190", 17));     /* one short */
	CHECK(!ck_digits("202007270737119030", 17));   /* one long */
	CHECK(!ck_digits("1", 0));
}

TEST(digits_non_digits)
{
	CHECK(!ck_digits("12a45", 5));
	CHECK(!ck_digits("-1234", 5));
	CHECK(!ck_digits(" 1234", 5));
	CHECK(!ck_digits("1234 ", 5));
	CHECK(!ck_digits("1.345", 5));
}

TEST(strdup_and_strndup)
{
	char *a = ck_strdup("hello"), *b = ck_strndup("hello world", 5), *c = ck_strndup("", 0);

	CHECK_STR_EQ(a, "hello");
	CHECK_STR_EQ(b, "hello");
	CHECK_STR_EQ(c, "");
	free(a);
	free(b);
	free(c);
}

TEST(alloc_zero_not_null)
{
	void *p = ck_malloc(0), *q = ck_calloc(0, 0);
	unsigned char *z = ck_calloc(16, 1);
	size_t i;

	CHECK(p != NULL && q != NULL && z != NULL);
	for (i = 0; i < 16; i++)
		CHECK(z[i] == 0);
	z = ck_realloc(z, 32);
	CHECK(z != NULL);
	free(p);
	free(q);
	free(z);
}

TEST(memzero_wipes)
{
	unsigned char b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t i;

	ck_memzero(b, 6);
	for (i = 0; i < 6; i++)
		CHECK(b[i] == 0);
	CHECK(b[6] == 7 && b[7] == 8);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(memeq_equal),
		UNIT(memeq_different),
		UNIT(memeq_different_lengths),
		UNIT(memeq_empty),
		UNIT(parse_i64_values),
		UNIT(parse_i64_limits),
		UNIT(parse_i64_signs),
		UNIT(parse_i64_junk),
		UNIT(digits_exact_count),
		UNIT(digits_non_digits),
		UNIT(strdup_and_strndup),
		UNIT(alloc_zero_not_null),
		UNIT(memzero_wipes),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
