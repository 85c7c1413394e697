/* SPDX-License-Identifier: ISC */
/* The growable buffer (buf.h): always NUL-terminated, Jackson-style JSON
 * string escaping (security.md §4 step 6). */
#include "unit.h"

#include "buf.h"

TEST(reserve_on_empty_buffer_terminates)
{
	struct kbuf b = { 0 };

	unit_dirty_heap();
	kbuf_reserve(&b, 0);
	CHECK(b.p != NULL);
	CHECK_INT_EQ(b.len, 0);
	CHECK_STR_EQ(b.p, "");
	kbuf_free(&b);
	unit_dirty_heap();
	kbuf_reserve(&b, 100);
	CHECK_STR_EQ(b.p, "");
	kbuf_free(&b);
}

TEST(put_empty_terminates)
{
	struct kbuf b = { 0 };

	unit_dirty_heap();
	kbuf_put(&b, "", 0);
	CHECK_STR_EQ(b.p, "");
	kbuf_free(&b);
}

TEST(put_puts_putc_printf)
{
	struct kbuf b = { 0 };

	kbuf_put(&b, "ab\0c", 4);
	CHECK_INT_EQ(b.len, 4);
	CHECK_MEM_EQ(b.p, b.len, "ab\0c", 4);
	CHECK(b.p[4] == '\0');
	kbuf_reset(&b);
	kbuf_puts(&b, "x=");
	kbuf_putc(&b, '1');
	kbuf_printf(&b, "&%s=%d", "y", 42);
	CHECK_STR_EQ(b.p, "x=1&y=42");
	CHECK_INT_EQ(b.len, 8);
	kbuf_free(&b);
}

TEST(grows_past_initial_capacity)
{
	struct kbuf b = { 0 };
	char chunk[100];
	int i;

	memset(chunk, 'a', sizeof chunk);
	for (i = 0; i < 100; i++)
		kbuf_put(&b, chunk, sizeof chunk);
	CHECK_INT_EQ(b.len, 10000);
	CHECK(b.cap > b.len);
	CHECK(b.p[9999] == 'a' && b.p[10000] == '\0');
	kbuf_printf(&b, "%05d", 7);
	CHECK_STR_EQ(b.p + 10000, "00007");
	kbuf_free(&b);
}

TEST(reset_keeps_memory)
{
	struct kbuf b = { 0 };
	char *p;

	kbuf_puts(&b, "hello");
	p = b.p;
	kbuf_reset(&b);
	CHECK(b.p == p);
	CHECK_INT_EQ(b.len, 0);
	CHECK_STR_EQ(b.p, "");
	kbuf_free(&b);
	kbuf_reset(&b);          /* on a freed buffer: harmless */
	CHECK(b.p == NULL);
}

TEST(free_clears)
{
	struct kbuf b = { 0 };

	kbuf_puts(&b, "secret");
	kbuf_free(&b);
	CHECK(b.p == NULL);
	CHECK_INT_EQ(b.len, 0);
	CHECK_INT_EQ(b.cap, 0);
	kbuf_free(&b);
}

static void check_jstr(const char *in, size_t n, const char *want)
{
	struct kbuf b = { 0 };

	kbuf_put_jstr(&b, in, n);
	CHECK_STR_EQ(b.p, want);
	kbuf_free(&b);
}

TEST(jstr_quotes_and_short_escapes)
{
	check_jstr("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_jstr("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	check_jstr("", 0, "\"\"");
}

TEST(jstr_other_controls_upper_hex)
{
	check_jstr("\x01\x1f\x0b\x1b", 4, "\"\\u0001\\u001F\\u000B\\u001B\"");
	check_jstr("a\0b", 3, "\"a\\u0000b\"");
}

TEST(jstr_raw_slash_del_non_ascii)
{
	check_jstr("/x/\x7f\xc3\xa9\xf0\x9f\x98\x80", 10, "\"/x/\x7f\xc3\xa9\xf0\x9f\x98\x80\"");
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(reserve_on_empty_buffer_terminates),
		UNIT(put_empty_terminates),
		UNIT(put_puts_putc_printf),
		UNIT(grows_past_initial_capacity),
		UNIT(reset_keeps_memory),
		UNIT(free_clears),
		UNIT(jstr_quotes_and_short_escapes),
		UNIT(jstr_other_controls_upper_hex),
		UNIT(jstr_raw_slash_del_non_ascii),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
