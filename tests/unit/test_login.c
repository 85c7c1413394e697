/* SPDX-License-Identifier: ISC */
/* The access-token renewal threshold (login.md §7, D26): less than 5 minutes
 * or 20 % of the lifetime left, whichever comes first. */
#include "unit.h"

#include "login.h"

TEST(renewal_usual_token_at_24_minutes)
{
	/* 7,200 s: 20 % is 1,440 s, which comes before 5 minutes */
	CHECK(!login_token_needs_renewal(1441, 7200));
	CHECK(login_token_needs_renewal(1439, 7200));
	CHECK(login_token_needs_renewal(295, 7200));
}

TEST(renewal_short_token_at_5_minutes)
{
	/* 320 s: 5 minutes comes before 20 % (64 s) */
	CHECK(login_token_needs_renewal(295, 320));
	CHECK(login_token_needs_renewal(299, 320));
	CHECK(!login_token_needs_renewal(301, 320));
	CHECK(!login_token_needs_renewal(320, 320));
}

TEST(renewal_token_shorter_than_5_minutes)
{
	/* bounded by the lifetime: a fresh 120 s token is not renewed at once */
	CHECK(!login_token_needs_renewal(120, 120));
	CHECK(login_token_needs_renewal(119, 120));
	CHECK(login_token_needs_renewal(-1, 120));
}

TEST(renewal_unknown_lifetime)
{
	CHECK(!login_token_needs_renewal(301, 0));
	CHECK(login_token_needs_renewal(299, 0));
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(renewal_usual_token_at_24_minutes),
		UNIT(renewal_short_token_at_5_minutes),
		UNIT(renewal_token_shorter_than_5_minutes),
		UNIT(renewal_unknown_lifetime),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
