/* SPDX-License-Identifier: ISC */
/* Text codecs (codec.h) and query-string parsing (params.h). */
#include "unit.h"

#include "codec.h"
#include "params.h"

/* ---- hex ---- */

TEST(hex_lower_case)
{
	static const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff, 0x10 };
	char out[11];

	kg_hex(in, sizeof in, out);
	CHECK_STR_EQ(out, "000fa5ff10");
	kg_hex(in, 0, out);
	CHECK_STR_EQ(out, "");
}

/* ---- Base64 encode (RFC 4648 §10) ---- */

static const struct { const char *plain, *b64; } rfc4648[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

TEST(b64_encode_rfc4648)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT(rfc4648); i++) {
		struct kbuf b = { 0 };

		unit_dirty_heap();
		kg_b64_put(&b, (const unsigned char *)rfc4648[i].plain, strlen(rfc4648[i].plain));
		CHECK_STR_EQ(b.p ? b.p : "", rfc4648[i].b64);
		kbuf_free(&b);
	}
}

TEST(b64_encode_standard_alphabet)
{
	static const unsigned char in[] = { 0xfb, 0xff, 0xbf, 0x00 };
	struct kbuf b = { 0 };

	kg_b64_put(&b, in, 3);
	CHECK_STR_EQ(b.p, "+/+/");
	kbuf_reset(&b);
	kg_b64_put(&b, in, 4);
	CHECK_STR_EQ(b.p, "+/+/AA==");
	kbuf_free(&b);
}

TEST(b64_encode_appends)
{
	struct kbuf b = { 0 };

	kbuf_puts(&b, "x=");
	kg_b64_put(&b, (const unsigned char *)"fo", 2);
	CHECK_STR_EQ(b.p, "x=Zm8=");
	kbuf_free(&b);
}

/* ---- Base64 decode (D24) ---- */

static void check_b64_decodes(const char *in, const void *want, size_t wantlen)
{
	struct kbuf b = { 0 };

	CHECK_MSG(kg_b64_decode(in, strlen(in), &b), "kg_b64_decode(\"%s\") failed", in);
	CHECK_MEM_EQ(b.p ? b.p : "", b.len, want, wantlen);
	kbuf_free(&b);
}

TEST(b64_decode_rfc4648)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT(rfc4648); i++) {
		check_b64_decodes(rfc4648[i].b64, rfc4648[i].plain, strlen(rfc4648[i].plain));
		if (unit_current_failed)
			return;
	}
}

TEST(b64_decode_skips_whitespace)
{
	check_b64_decodes("Zm9v\nYmFy", "foobar", 6);
	check_b64_decodes(" Zm9v\r\nYm\tE= \n", "fooba", 5);
	check_b64_decodes("\n", "", 0);
}

TEST(b64_decode_url_safe_alphabet)
{
	check_b64_decodes("-_-_", "\xfb\xff\xbf", 3);
	check_b64_decodes("+/+/", "\xfb\xff\xbf", 3);
}

TEST(b64_decode_missing_padding)
{
	check_b64_decodes("Zg", "f", 1);
	check_b64_decodes("Zm8", "fo", 2);
	check_b64_decodes("Zm9vYg", "foob", 4);
}

TEST(b64_decode_rejects_garbage)
{
	static const char *const bad[] = {
		"Zm9v!", "Zm*v", "Zm9v.", "Z", "Zm9vY", "Zg==Zg==", "Zg=x", "Zg===", "====",
		"Zm9v\xc3\xa9", "%3D", "Zm9v\x01",
	};
	size_t i;

	for (i = 0; i < UNIT_COUNT(bad); i++) {
		struct kbuf b = { 0 };

		CHECK_MSG(!kg_b64_decode(bad[i], strlen(bad[i]), &b), "accepted \"%s\"", bad[i]);
		kbuf_free(&b);
	}
}

TEST(b64_decode_embedded_nul_rejected)
{
	struct kbuf b = { 0 };

	CHECK(!kg_b64_decode("Zm9v\0YmFy", 9, &b));
	kbuf_free(&b);
}

TEST(b64_round_trip_all_bytes)
{
	unsigned char in[256];
	struct kbuf e = { 0 }, d = { 0 };
	size_t i;

	for (i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)i;
	kg_b64_put(&e, in, sizeof in);
	CHECK(kg_b64_decode(e.p, e.len, &d));
	CHECK_MEM_EQ(d.p, d.len, in, sizeof in);
	kbuf_free(&e);
	kbuf_free(&d);
}

/* ---- URL decoding ---- */

static void check_url(const char *in, enum kg_urldecode mode, const char *want)
{
	struct kbuf b = { 0 };

	CHECK_MSG(kg_url_decode(in, strlen(in), mode, &b), "kg_url_decode(\"%s\", %s) failed",
	          in, mode == KG_URL_FORM ? "FORM" : "PERCENT");
	CHECK_STR_EQ(b.p, want);
	kbuf_free(&b);
}

TEST(url_plus_in_form_mode_is_space)
{
	check_url("a+b++c", KG_URL_FORM, "a b  c");
}

TEST(url_plus_in_percent_mode_is_kept)
{
	check_url("a+b++c", KG_URL_PERCENT, "a+b++c");
}

TEST(url_percent_escapes_both_modes)
{
	check_url("%2B%2C%2c%3D%20", KG_URL_FORM, "+,,= ");
	check_url("%2B%2C%2c%3D%20", KG_URL_PERCENT, "+,,= ");
	check_url("id-1%2Cid-2", KG_URL_FORM, "id-1,id-2");
}

TEST(url_utf8_bytes)
{
	check_url("%E5%BC%A0%e4%b8%89", KG_URL_FORM, "\xe5\xbc\xa0\xe4\xb8\x89");
}

TEST(url_empty_input)
{
	struct kbuf b = { 0 };

	unit_dirty_heap();
	CHECK(kg_url_decode("", 0, KG_URL_FORM, &b));
	CHECK_INT_EQ(b.len, 0);
	CHECK_STR_EQ(b.p ? b.p : "", "");      /* a kbuf is always NUL-terminated */
	kbuf_free(&b);
}

TEST(url_bad_escapes_rejected)
{
	static const char *const bad[] = { "%", "%4", "%zz", "a%", "a%4", "%g0", "%0g", "%%", "%-1", "% 1" };
	size_t i;
	int m;

	for (m = 0; m < 2; m++)
		for (i = 0; i < UNIT_COUNT(bad); i++) {
			struct kbuf b = { 0 };

			CHECK_MSG(!kg_url_decode(bad[i], strlen(bad[i]), m ? KG_URL_PERCENT : KG_URL_FORM, &b),
			          "accepted \"%s\"", bad[i]);
			kbuf_free(&b);
		}
}

TEST(url_nul_rejected)
{
	struct kbuf b = { 0 };

	CHECK(!kg_url_decode("a%00b", 5, KG_URL_FORM, &b));
	kbuf_reset(&b);
	CHECK(!kg_url_decode("a%00b", 5, KG_URL_PERCENT, &b));
	kbuf_reset(&b);
	CHECK(!kg_url_decode("a\0b", 3, KG_URL_FORM, &b));
	kbuf_free(&b);
}

/* The length is respected: "%41" cut after "%4" is a bad escape, not 'A'. */
TEST(url_length_respected)
{
	struct kbuf b = { 0 };

	CHECK(!kg_url_decode("%41", 2, KG_URL_FORM, &b));
	kbuf_reset(&b);
	CHECK(kg_url_decode("ab%41", 2, KG_URL_FORM, &b));
	CHECK_STR_EQ(b.p, "ab");
	kbuf_free(&b);
}

/* ---- UTF-8 validation ---- */

#define U8_OK(s)  CHECK_MSG(kg_utf8_valid((s), sizeof(s) - 1), "rejected %s", #s)
#define U8_BAD(s) CHECK_MSG(!kg_utf8_valid((s), sizeof(s) - 1), "accepted %s", #s)

TEST(utf8_valid_sequences)
{
	U8_OK("");
	U8_OK("plain ASCII \x7f");
	U8_OK("\xc2\x80");               /* U+0080 */
	U8_OK("\xc3\xa9");               /* é */
	U8_OK("\xdf\xbf");               /* U+07FF */
	U8_OK("\xe0\xa0\x80");           /* U+0800 */
	U8_OK("\xe5\xbc\xa0\xe4\xb8\x89");
	U8_OK("\xed\x9f\xbf");           /* U+D7FF */
	U8_OK("\xee\x80\x80");           /* U+E000 */
	U8_OK("\xef\xbf\xbf");           /* U+FFFF */
	U8_OK("\xf0\x90\x80\x80");       /* U+10000 */
	U8_OK("\xf0\x9f\x98\x80");       /* U+1F600 */
	U8_OK("\xf4\x8f\xbf\xbf");       /* U+10FFFF */
}

TEST(utf8_overlong_rejected)
{
	U8_BAD("\xc0\x80");
	U8_BAD("\xc0\xaf");
	U8_BAD("\xc1\xbf");
	U8_BAD("\xe0\x80\x80");
	U8_BAD("\xe0\x9f\xbf");
	U8_BAD("\xf0\x80\x80\x80");
	U8_BAD("\xf0\x8f\xbf\xbf");
}

TEST(utf8_surrogates_rejected)
{
	U8_BAD("\xed\xa0\x80");          /* U+D800 */
	U8_BAD("\xed\xaf\xbf");          /* U+DBFF */
	U8_BAD("\xed\xb0\x80");          /* U+DC00 */
	U8_BAD("\xed\xbf\xbf");          /* U+DFFF */
	U8_BAD("\xed\xa0\xbd\xed\xb8\x80"); /* CESU-8 pair */
}

TEST(utf8_truncated_rejected)
{
	U8_BAD("\xc3");
	U8_BAD("a\xc3");
	U8_BAD("\xe4\xb8");
	U8_BAD("\xf0\x9f\x98");
	U8_BAD("\x80");                  /* lone continuation */
	U8_BAD("\xbf");
	U8_BAD("\xc3\x41");              /* continuation missing */
	U8_BAD("\xe4\x41\xad");
	U8_BAD("\xf0\x9f\x98\x41");
}

TEST(utf8_above_max_rejected)
{
	U8_BAD("\xf4\x90\x80\x80");      /* U+110000 */
	U8_BAD("\xf5\x80\x80\x80");
	U8_BAD("\xf7\xbf\xbf\xbf");
	U8_BAD("\xf8\x88\x80\x80\x80");
	U8_BAD("\xfc\x84\x80\x80\x80\x80");
	U8_BAD("\xfe");
	U8_BAD("\xff");
}

/* Only n bytes are examined. */
/* koogate's text columns: the euro sign is one column, CJK, Hangul and emoji two. */
TEST(utf8_width_columns)
{
	CHECK(kg_utf8_width("") == 0);
	CHECK(kg_utf8_width("abc") == 3);
	CHECK(kg_utf8_width("\xe2\x82\xac") == 1);                 /* U+20AC euro sign */
	CHECK(kg_utf8_width("\xc3\xa9t\xc3\xa9") == 3);           /* été */
	CHECK(kg_utf8_width("\xe5\xbc\x80\xe5\x8f\x91") == 4);   /* 开发 */
	CHECK(kg_utf8_width("\xed\x95\x9c") == 2);                 /* U+D55C Hangul */
	CHECK(kg_utf8_width("\xf0\x9f\x98\x80") == 2);             /* U+1F600 emoji */
	CHECK(kg_utf8_width("\xf0\x9d\x90\x80") == 1);             /* U+1D400 math bold A */
	CHECK(kg_utf8_width("\xef\xbc\xa1") == 2);                 /* U+FF21 fullwidth A */
}

/* A form decoder made Base64's '+' a space; only those come back. */
TEST(b64_unspace_restores_plus)
{
	struct kbuf b = { 0 };

	kbuf_puts(&b, "x:");
	kg_b64_unspace("ab c d==", &b);
	CHECK_STR_EQ(b.p, "x:ab+c+d==");
	kbuf_free(&b);
}

TEST(utf8_length_respected)
{
	CHECK(!kg_utf8_valid("\xc3\xa9", 1));
	CHECK(kg_utf8_valid("ab\xff", 2));
}

/* ---- kg_params_parse ---- */

static void parse_ok(struct kg_params *ps, const char *q, enum kg_urldecode mode)
{
	memset(ps, 0, sizeof *ps);
	CHECK_MSG(kg_params_parse(ps, q, strlen(q), mode), "kg_params_parse(\"%s\") failed", q);
}

TEST(params_order_preserved)
{
	struct kg_params ps;

	parse_ok(&ps, "z=1&a=2&m=3", KG_URL_FORM);
	if (unit_current_failed)
		return;
	CHECK_INT_EQ(ps.n, 3);
	CHECK_STR_EQ(ps.v[0].name, "z");
	CHECK_STR_EQ(ps.v[1].name, "a");
	CHECK_STR_EQ(ps.v[2].name, "m");
	CHECK_STR_EQ(ps.v[2].value, "3");
	CHECK_INT_EQ(ps.v[2].vlen, 1);
	kg_params_free(&ps);
}

TEST(params_repeated_names_all_kept_first_returned)
{
	struct kg_params ps;

	parse_ok(&ps, "a=1&b=x&a=2", KG_URL_FORM);
	if (unit_current_failed)
		return;
	CHECK_INT_EQ(ps.n, 3);
	CHECK_STR_EQ(ps.v[2].name, "a");
	CHECK_STR_EQ(ps.v[2].value, "2");
	CHECK_STR_EQ(kg_params_get(&ps, "a"), "1");
	CHECK(kg_params_get(&ps, "c") == NULL);
	CHECK(kg_params_get(&ps, "A") == NULL);
	kg_params_free(&ps);
}

TEST(params_missing_equals_is_empty_value)
{
	struct kg_params ps;

	unit_dirty_heap();
	parse_ok(&ps, "flag&x=&y=1", KG_URL_FORM);
	if (unit_current_failed)
		return;
	CHECK_INT_EQ(ps.n, 3);
	CHECK_STR_EQ(ps.v[0].name, "flag");
	CHECK_STR_EQ(ps.v[0].value, "");
	CHECK_INT_EQ(ps.v[0].vlen, 0);
	CHECK_STR_EQ(ps.v[1].name, "x");
	CHECK_STR_EQ(ps.v[1].value, "");
	CHECK_STR_EQ(kg_params_get(&ps, "flag"), "");
	kg_params_free(&ps);
}

TEST(params_empty_segments_skipped)
{
	struct kg_params ps;

	parse_ok(&ps, "&&a=1&&b=2&", KG_URL_FORM);
	if (unit_current_failed)
		return;
	CHECK_INT_EQ(ps.n, 2);
	CHECK_STR_EQ(ps.v[0].name, "a");
	CHECK_STR_EQ(ps.v[1].name, "b");
	kg_params_free(&ps);
	parse_ok(&ps, "", KG_URL_FORM);
	CHECK_INT_EQ(ps.n, 0);
	kg_params_free(&ps);
}

TEST(params_split_on_first_equals)
{
	struct kg_params ps;

	parse_ok(&ps, "authToken=ab+c==&k=a=b", KG_URL_FORM);
	if (unit_current_failed)
		return;
	CHECK_STR_EQ(kg_params_get(&ps, "authToken"), "ab c==");
	CHECK_STR_EQ(kg_params_get(&ps, "k"), "a=b");
	kg_params_free(&ps);
}

TEST(params_names_and_values_decoded)
{
	struct kg_params ps;

	parse_ok(&ps, "a%5Bb%5D=x%26y%3Dz&n%20m=%E5%BC%A0", KG_URL_FORM);
	if (unit_current_failed)
		return;
	CHECK_STR_EQ(kg_params_get(&ps, "a[b]"), "x&y=z");
	CHECK_STR_EQ(kg_params_get(&ps, "n m"), "\xe5\xbc\xa0");
	kg_params_free(&ps);
}

TEST(params_form_vs_percent_mode)
{
	struct kg_params f, p;

	parse_ok(&f, "t=a+b%2B", KG_URL_FORM);
	parse_ok(&p, "t=a+b%2B", KG_URL_PERCENT);
	if (unit_current_failed)
		return;
	CHECK_STR_EQ(kg_params_get(&f, "t"), "a b+");
	CHECK_STR_EQ(kg_params_get(&p, "t"), "a+b+");
	kg_params_free(&f);
	kg_params_free(&p);
}

TEST(params_bad_input_rejected)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "%zz=1", "a=%00", "a%00=1", "a=%FF", "a=%C3%28", "a=%ED%A0%80",
	};
	size_t i;

	for (i = 0; i < UNIT_COUNT(bad); i++) {
		struct kg_params ps = { 0 };

		CHECK_MSG(!kg_params_parse(&ps, bad[i], strlen(bad[i]), KG_URL_FORM), "accepted \"%s\"", bad[i]);
		kg_params_free(&ps);
	}
}

static void many(struct kbuf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		kbuf_printf(b, "%sp%zu=%zu", i ? "&" : "", i, i);
}

TEST(params_max_pairs_accepted)
{
	struct kbuf q = { 0 };
	struct kg_params ps = { 0 };

	many(&q, KG_PARAMS_MAX);
	CHECK(kg_params_parse(&ps, q.p, q.len, KG_URL_FORM));
	CHECK_INT_EQ(ps.n, KG_PARAMS_MAX);
	CHECK_STR_EQ(ps.v[KG_PARAMS_MAX - 1].value, "255");
	kg_params_free(&ps);
	kbuf_free(&q);
}

TEST(params_more_than_max_rejected)
{
	struct kbuf q = { 0 };
	struct kg_params ps = { 0 };

	many(&q, KG_PARAMS_MAX + 1);
	CHECK(!kg_params_parse(&ps, q.p, q.len, KG_URL_FORM));
	kg_params_free(&ps);
	kbuf_free(&q);
}

/* Empty segments do not count towards the limit. */
TEST(params_empty_segments_not_counted)
{
	struct kbuf q = { 0 };
	struct kg_params ps = { 0 };

	kbuf_puts(&q, "&&&&");
	many(&q, KG_PARAMS_MAX);
	kbuf_puts(&q, "&&&&");
	CHECK(kg_params_parse(&ps, q.p, q.len, KG_URL_FORM));
	CHECK_INT_EQ(ps.n, KG_PARAMS_MAX);
	kg_params_free(&ps);
	kbuf_free(&q);
}

TEST(params_free_resets)
{
	struct kg_params ps;

	parse_ok(&ps, "a=1", KG_URL_FORM);
	kg_params_free(&ps);
	CHECK(ps.v == NULL);
	CHECK_INT_EQ(ps.n, 0);
	kg_params_free(&ps);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(hex_lower_case),
		UNIT(b64_encode_rfc4648),
		UNIT(b64_encode_standard_alphabet),
		UNIT(b64_encode_appends),
		UNIT(b64_decode_rfc4648),
		UNIT(b64_decode_skips_whitespace),
		UNIT(b64_decode_url_safe_alphabet),
		UNIT(b64_decode_missing_padding),
		UNIT(b64_decode_rejects_garbage),
		UNIT(b64_decode_embedded_nul_rejected),
		UNIT(b64_round_trip_all_bytes),
		UNIT(url_plus_in_form_mode_is_space),
		UNIT(url_plus_in_percent_mode_is_kept),
		UNIT(url_percent_escapes_both_modes),
		UNIT(url_utf8_bytes),
		UNIT(url_empty_input),
		UNIT(url_bad_escapes_rejected),
		UNIT(url_nul_rejected),
		UNIT(url_length_respected),
		UNIT(utf8_valid_sequences),
		UNIT(utf8_width_columns),
		UNIT(b64_unspace_restores_plus),
		UNIT(utf8_overlong_rejected),
		UNIT(utf8_surrogates_rejected),
		UNIT(utf8_truncated_rejected),
		UNIT(utf8_above_max_rejected),
		UNIT(utf8_length_respected),
		UNIT(params_order_preserved),
		UNIT(params_repeated_names_all_kept_first_returned),
		UNIT(params_missing_equals_is_empty_value),
		UNIT(params_empty_segments_skipped),
		UNIT(params_split_on_first_equals),
		UNIT(params_names_and_values_decoded),
		UNIT(params_form_vs_percent_mode),
		UNIT(params_bad_input_rejected),
		UNIT(params_max_pairs_accepted),
		UNIT(params_more_than_max_rejected),
		UNIT(params_empty_segments_not_counted),
		UNIT(params_free_resets),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
