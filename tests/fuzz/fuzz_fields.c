/* SPDX-License-Identifier: ISC */
/* Field tables (fields.h): kg_fields_json over a body that went through the
 * same gate as in app.c (kg_canon_json accepts it, then json-c with depth
 * KG_CANON_MAX_DEPTH parses it to an object), and kg_fields_params over the
 * input read as a query string (kg_params_parse, FORM, as app.c does).
 *
 * Two tables each: a strict one (required fields, enumerations, digits,
 * objects) and a lenient one where every field is optional, so that every
 * field's checks run even when an earlier one would fail. Invariants:
 *   - vals->n is the table size; a NULL value only for an absent optional
 *     field; a REQUIRED value is not empty; PRESENT fields are there;
 *   - a value is at most maxlen characters (counted independently), DIGITS
 *     values are ASCII digits, enumerated values are in the list (or empty),
 *     OBJECT-only values are JSON text ("{" or "["), and every value is
 *     valid UTF-8 (the body passed the UTF-8 check);
 *   - a failure names one of the table's fields in why (NUL-terminated). */
#include "fuzz.h"

#include <json-c/json.h>

#include "buf.h"
#include "canon.h"
#include "fields.h"
#include "params.h"

static const char *const flags[] = { "0", "1", "2", "3", NULL };
static const char *const flags01[] = { "0", "1", NULL };
static const char *const booleans[] = { "true", "false", NULL };

/* In the spirit of authSync, newInstance and usage (cgi-bin/). */
static const struct kg_field strict_tab[] = {
	{ "instanceId",   KG_F_PRESENT,            64,   NULL },
	{ "tenantId",     KG_F_REQUIRED,           64,   NULL },
	{ "flag",         KG_F_REQUIRED,           2,    flags },
	{ "testFlag",     0,                       1,    flags01 },
	{ "amount",       KG_F_DIGITS,             20,   NULL },
	{ "name",         0,                       255,  NULL },
	{ "productInfo",  KG_F_OBJECT,             0,    NULL },
	{ "userList",     KG_F_PRESENT | KG_F_ANY, 0,    NULL },
	{ "correct",      0,                       5,    booleans },
};

static const struct kg_field lenient_tab[] = {
	{ "instanceId",   0,                       64,   NULL },
	{ "tenantId",     0,                       64,   NULL },
	{ "flag",         0,                       2,    flags },
	{ "testFlag",     0,                       1,    flags01 },
	{ "amount",       KG_F_DIGITS,             20,   NULL },
	{ "name",         0,                       4,    NULL },
	{ "productInfo",  KG_F_OBJECT,             64,   NULL },
	{ "userList",     KG_F_ANY,                16,   NULL },
	{ "correct",      0,                       5,    booleans },
	{ "",             0,                       0,    NULL },
	{ "a",            KG_F_DIGITS | KG_F_ANY,  3,    NULL },
	{ "b",            KG_F_OBJECT | KG_F_ANY,  0,    flags },
};

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void check(const struct kg_field *tab, size_t n, bool ok, const struct kg_values *vals,
                  const char *why, size_t whylen, bool utf8_input, bool from_json)
{
	FUZZ_CHECK(fuzz_terminated(why, whylen), "why not terminated");
	FUZZ_CHECK(vals->n == n, "vals->n %zu, table %zu", vals->n, n);
	if (!ok) {
		bool named = false;

		FUZZ_CHECK(*why, "failure without a reason");
		for (size_t i = 0; i < n && !named; i++)
			named = *tab[i].name && strstr(why, tab[i].name) != NULL;
		FUZZ_CHECK(named, "reason names no field: %s", why);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kg_field *f = &tab[i];
		const char *v = vals->v[i];

		if (!v) {
			FUZZ_CHECK(!(f->flags & (KG_F_REQUIRED | KG_F_PRESENT)), "%s missing but accepted", f->name);
			continue;
		}
		if (f->flags & KG_F_REQUIRED)
			FUZZ_CHECK(*v, "%s required but empty", f->name);
		if (f->maxlen)
			FUZZ_CHECK(chars(v) <= f->maxlen, "%s has %zu characters, max %zu", f->name, chars(v), f->maxlen);
		if (f->flags & KG_F_DIGITS)
			for (const char *p = v; *p; p++)
				FUZZ_CHECK(*p >= '0' && *p <= '9', "%s not digits: %s", f->name, v);
		if (f->allowed && *v) {
			const char *const *a = f->allowed;

			while (*a && strcmp(*a, v))
				a++;
			FUZZ_CHECK(*a, "%s has a value outside its list: %s", f->name, v);
		}
		if (from_json && (f->flags & KG_F_OBJECT) && !(f->flags & KG_F_ANY))
			FUZZ_CHECK(*v == '{' || *v == '[', "%s is not an object: %s", f->name, v);
		if (utf8_input)
			FUZZ_CHECK(fuzz_utf8_ok(v, strlen(v)), "%s is not valid UTF-8", f->name);
	}
}

static void fields_json(const uint8_t *data, size_t size)
{
	struct kbuf canon = { 0 };
	json_tokener *tok;
	json_object *j;
	struct kg_values vals;
	char why[160];
	bool ok;

	/* the gate of app.c: canonicalisation first, then json-c */
	if (kg_canon_json((const char *)data, size, &canon) != KG_CANON_OK) {
		kbuf_free(&canon);
		return;
	}
	kbuf_free(&canon);
	tok = json_tokener_new_ex(KG_CANON_MAX_DEPTH);
	j = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(j, json_type_object)) {
		memset(&vals, 0xA5, sizeof vals);
		why[0] = '\0';
		ok = kg_fields_json(strict_tab, KG_NFIELDS(strict_tab), j, &vals, why, sizeof why);
		check(strict_tab, KG_NFIELDS(strict_tab), ok, &vals, why, sizeof why, true, true);
		why[0] = '\0';
		ok = kg_fields_json(lenient_tab, KG_NFIELDS(lenient_tab), j, &vals, why, sizeof why);
		check(lenient_tab, KG_NFIELDS(lenient_tab), ok, &vals, why, sizeof why, true, true);
	}
	json_object_put(j);
	json_tokener_free(tok);
}

static void fields_params(const uint8_t *data, size_t size)
{
	struct kg_params ps = { 0 };
	struct kg_values vals;
	char why[160];
	bool ok;

	if (kg_params_parse(&ps, (const char *)data, size, KG_URL_FORM)) {
		why[0] = '\0';
		ok = kg_fields_params(strict_tab, KG_NFIELDS(strict_tab), &ps, &vals, why, sizeof why);
		check(strict_tab, KG_NFIELDS(strict_tab), ok, &vals, why, sizeof why, true, false);
		why[0] = '\0';
		ok = kg_fields_params(lenient_tab, KG_NFIELDS(lenient_tab), &ps, &vals, why, sizeof why);
		check(lenient_tab, KG_NFIELDS(lenient_tab), ok, &vals, why, sizeof why, true, false);
		/* a tiny reason buffer is truncated, never overrun */
		{
			char small[4];

			kg_fields_params(strict_tab, KG_NFIELDS(strict_tab), &ps, &vals, small, sizeof small);
		}
	}
	kg_params_free(&ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fields_json(data, size);
	fields_params(data, size);
	return 0;
}
