/* SPDX-License-Identifier: ISC */
/* CAS ticket validation answers (login.md §10.2, D11, D28):
 * login_cas_parse over JSON or XML bodies.
 *
 * The body is given as login_cas_validate gives it: the response buffer of
 * n bytes, NUL-terminated (a struct kbuf). login_cas_parse relies on that
 * terminator (json_tokener_parse, strstr, strchr); see the report.
 *
 * Invariants:
 *   - the result is one of OK, REFUSED, UPSTREAM (the parser never answers
 *     anything else);
 *   - OK: a non-empty user of at most 64 bytes; every identity field is
 *     NUL-terminated inside its array; when the body is valid UTF-8 every
 *     field is valid UTF-8 too (the fields go to PostgreSQL as text and into
 *     pages);
 *   - not OK: why holds a NUL-terminated reason and there is no user. */
#include "fuzz.h"

#include "login.h"

/* Known bug K1 (tests/fuzz/README.md): a field cut to its array size may end
 * in the middle of a UTF-8 sequence. With FUZZ_IGNORE_KNOWN=1 such a cut is
 * tolerated so the fuzzer can look for other problems. */
static bool known_cut(const char *v, size_t size)
{
	size_t len = strlen(v);

	if (!getenv("FUZZ_IGNORE_KNOWN") || len != size - 1)
		return false;
	while (len && ((unsigned char)v[len - 1] & 0xC0) == 0x80)
		len--;
	if (len && (unsigned char)v[len - 1] >= 0xC0)
		len--;
	return fuzz_utf8_ok(v, len);
}

static void check_id(const struct login_identity *id, bool utf8_body)
{
	const struct { const char *name; const char *v; size_t size; } f[] = {
		{ "user", id->user, sizeof id->user }, { "name", id->name, sizeof id->name },
		{ "role", id->role, sizeof id->role }, { "org", id->org, sizeof id->org },
		{ "tenant", id->tenant, sizeof id->tenant },
	};

	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		FUZZ_CHECK(fuzz_terminated(f[i].v, f[i].size), "identity %s not terminated", f[i].name);
		if (utf8_body)
			FUZZ_CHECK(fuzz_utf8_ok(f[i].v, strlen(f[i].v)) || known_cut(f[i].v, f[i].size),
			           "identity %s is not valid UTF-8 (%zu bytes) though the body is", f[i].name,
			           strlen(f[i].v));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_strndup(data, size);
	struct login_identity id;
	char why[200];
	enum login_err r;
	bool utf8 = fuzz_utf8_ok(data, size);

	memset(&id, 0xA5, sizeof id);       /* the parser must clear it */
	why[0] = '\0';
	r = login_cas_parse(body, size, &id, why, sizeof why);
	FUZZ_CHECK(r == LOGIN_OK || r == LOGIN_REFUSED || r == LOGIN_UPSTREAM, "unexpected result %d", (int)r);
	FUZZ_CHECK(fuzz_terminated(why, sizeof why), "why not terminated");
	check_id(&id, utf8);
	if (r == LOGIN_OK) {
		FUZZ_CHECK(*id.user && strlen(id.user) <= 64, "OK without a proper user (%zu bytes)", strlen(id.user));
	} else {
		FUZZ_CHECK(*why, "failure %d without a reason", (int)r);
		FUZZ_CHECK(!*id.user, "failure %d with a user", (int)r);
	}

	/* a smaller why buffer is truncated, never overrun */
	{
		char small[8];
		struct login_identity id2;

		login_cas_parse(body, size, &id2, small, sizeof small);
	}
	free(body);
	return 0;
}
