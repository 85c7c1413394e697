/* SPDX-License-Identifier: ISC */
/* Issue 13 regressions: the login redirect target, calendar dates, finite
 * usage values and text for a terminal. */
#include "unit.h"

#include "buf.h"
#include "ck.h"
#include "codec.h"
#include "config.h"
#include "login.h"

/* Paths a browser resolves on this origin. */
TEST(safe_next_accepts_local_paths)
{
	static const char *const ok[] = {
		"/", "/app", "/app/page?x=1&y=2#frag", "/a%20b", "/a%2Fb", "/%41", "/~user/x;p=1",
		"/a//b", "/a/./b", "/@x", "/:x",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		CHECK_MSG(login_safe_next(ok[i]) == ok[i], "refused %s", ok[i]);
}

/* Known open-redirect bypass forms (WHATWG URL parsing strips tabs and
 * newlines, reads '\' as '/', and a scheme makes the URL absolute). */
TEST(safe_next_refuses_bypass_forms)
{
	static const char *const bad[] = {
		"//evil.example", "/\\evil.example", "\\/evil.example", "/\t/evil.example", "/\n/evil.example",
		"/\r/evil.example", "\t//evil.example", " /x", "/ /x", "/%09/evil.example", "/%0a/evil.example",
		"/%2F/evil.example", "/%2f/evil.example", "/%5C/evil.example", "/%5cevil.example", "/x%5Cy",
		"%2F%2Fevil.example", "https://evil.example", "https:evil.example", "javascript:alert(1)",
		"JaVaScRiPt:alert(1)", "data:text/html,x", "evil.example", "", "/\xEF\xBC\x8F/evil.example",
		"/\xE2\x88\x95" "evil.example", "\xEF\xBC\x8F\xEF\xBC\x8F" "evil.example", "/x\x7F", "/%7f", "/%00",
		"/%", "/%4", "/%zz", "/x\"y", "/x<y", "/x`y",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_MSG(login_safe_next(bad[i]) == NULL, "accepted bypass form %zu", i);
	CHECK(login_safe_next(NULL) == NULL);
}

TEST(safe_next_length_limit)
{
	char p[600];

	memset(p, 'a', sizeof p - 1);
	p[0] = '/';
	p[512] = '\0';
	CHECK(login_safe_next(p) == p);
	p[512] = 'a';
	p[513] = '\0';
	CHECK(login_safe_next(p) == NULL);
}

TEST(civil_date_months_and_leap_years)
{
	CHECK(ck_civil_date(2027, 1, 31));
	CHECK(!ck_civil_date(2027, 2, 31));
	CHECK(!ck_civil_date(2027, 2, 29));
	CHECK(ck_civil_date(2028, 2, 29));
	CHECK(!ck_civil_date(2100, 2, 29));
	CHECK(ck_civil_date(2000, 2, 29));
	CHECK(!ck_civil_date(2027, 4, 31));
	CHECK(ck_civil_date(2027, 12, 31));
	CHECK(!ck_civil_date(2027, 13, 1));
	CHECK(!ck_civil_date(2027, 0, 1));
	CHECK(!ck_civil_date(2027, 1, 0));
	CHECK(!ck_civil_date(0, 1, 1));
}

TEST(finite_number)
{
	CHECK(ck_finite_number("12.5"));
	CHECK(ck_finite_number("1"));
	CHECK(ck_finite_number("-1"));        /* finite: the range check is SQL's */
	CHECK(ck_finite_number("1e3"));
	CHECK(!ck_finite_number("NaN"));
	CHECK(!ck_finite_number("nan"));
	CHECK(!ck_finite_number("Infinity"));
	CHECK(!ck_finite_number("-Infinity"));
	CHECK(!ck_finite_number("inf"));
	CHECK(!ck_finite_number("1e999"));
	CHECK(!ck_finite_number("0x10"));
	CHECK(!ck_finite_number(""));
	CHECK(!ck_finite_number("1.5 "));
	CHECK(!ck_finite_number(NULL));
}

static void check_term(const char *in, const char *want)
{
	struct kbuf b = { 0 };

	kg_term_text(&b, in);
	kbuf_putc(&b, '\0');
	CHECK_STR_EQ(b.p, want);
	kbuf_free(&b);
}

TEST(term_text_escapes_controls)
{
	check_term("Acme \xE5\xBC\xA0\xE4\xB8\x89", "Acme \xE5\xBC\xA0\xE4\xB8\x89");
	check_term("evil\x1B]0;owned\x07name", "evil\\x1B]0;owned\\x07name");
	check_term("a\nb\tc\rd\x7F", "a\\x0Ab\\x09c\\x0Dd\\x7F");
	check_term("csi\xC2\x9B" "31m", "csi\\u009B31m");             /* C1 CSI as UTF-8 */
	check_term("raw\x9B" "31m", "raw\\x9B31m");                    /* not UTF-8 */
	check_term("rtl\xE2\x80\xAEgnp.exe", "rtl\\u202Egnp.exe");     /* bidi override */
	check_term("", "");
}

TEST(drop_secrets_wipes_what_is_not_needed)
{
	static const unsigned char zero[KG_MASTER_KEY_LEN];

	memset(kg_cfg.master_key, 0xA5, sizeof kg_cfg.master_key);
	kg_cfg.has_master_key = true;
	kg_cfg.apig_sk = ck_strdup("apig-secret");
	kg_cfg.usage_key = ck_strdup("usage-secret");
	kg_config_drop_secrets(true, true);
	CHECK(kg_cfg.has_master_key && kg_cfg.master_key[0] == 0xA5);
	CHECK_STR_EQ(kg_cfg.apig_sk, "apig-secret");
	CHECK_STR_EQ(kg_cfg.usage_key, "");
	kg_config_drop_secrets(false, false);
	CHECK(!kg_cfg.has_master_key);
	CHECK_MEM_EQ(kg_cfg.master_key, sizeof zero, zero, sizeof zero);
	CHECK_STR_EQ(kg_cfg.apig_sk, "");
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(safe_next_accepts_local_paths),
		UNIT(safe_next_refuses_bypass_forms),
		UNIT(safe_next_length_limit),
		UNIT(civil_date_months_and_leap_years),
		UNIT(finite_number),
		UNIT(term_text_escapes_controls),
		UNIT(drop_secrets_wipes_what_is_not_needed),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
