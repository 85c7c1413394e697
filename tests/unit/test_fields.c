/* SPDX-License-Identifier: ISC */
/* Field tables (fields.h): one validator table per interface, applied to a
 * JSON body (kg_fields_json) or to decoded parameters (kg_fields_params). */
#include "unit.h"

#include <json-c/json.h>

#include "fields.h"
#include "params.h"

static const char *const flags01[] = { "0", "1", NULL };

static const struct kg_field tab_req[] = {
	{ "orderId", KG_F_REQUIRED, 64, NULL },
};
static const struct kg_field tab_present[] = {
	{ "expireTime", KG_F_PRESENT, 0, NULL },
};
static const struct kg_field tab_opt[] = {
	{ "email", 0, 0, NULL },
};
static const struct kg_field tab_max64[] = {
	{ "customerName", 0, 64, NULL },
};
static const struct kg_field tab_allowed[] = {
	{ "testFlag", KG_F_REQUIRED, 1, flags01 },
};
static const struct kg_field tab_digits[] = {
	{ "amount", KG_F_DIGITS, 0, NULL },
};
static const struct kg_field tab_obj[] = {
	{ "productInfo", KG_F_OBJECT, 0, NULL },
};
static const struct kg_field tab_multi[] = {
	{ "activity", KG_F_REQUIRED, 0, NULL },
	{ "orderId", KG_F_REQUIRED, 64, NULL },
	{ "email", 0, 0, NULL },
	{ "testFlag", KG_F_PRESENT, 0, flags01 },
};

struct run {
	json_object      *obj;
	struct kg_values  vals;
	char              why[256];
	bool              ok;
};

static void run_json(struct run *r, const struct kg_field *tab, size_t n, const char *json)
{
	memset(r, 0, sizeof *r);
	r->obj = json_tokener_parse(json);
	if (!r->obj) {
		printf("(test bug: bad JSON %s)\n", json);
		abort();
	}
	r->ok = kg_fields_json(tab, n, r->obj, &r->vals, r->why, sizeof r->why);
}

static void done(struct run *r)
{
	json_object_put(r->obj);
}

static bool run_params(const struct kg_field *tab, size_t n, const char *q, struct kg_params *ps,
                       struct kg_values *vals, char *why, size_t whylen)
{
	memset(ps, 0, sizeof *ps);
	if (!kg_params_parse(ps, q, strlen(q), KG_URL_FORM)) {
		printf("(test bug: bad query %s)\n", q);
		abort();
	}
	return kg_fields_params(tab, n, ps, vals, why, whylen);
}

static void repeat(char *out, const char *unit, int n)
{
	out[0] = '\0';
	while (n--)
		strcat(out, unit);
}

/* ---- required / present / optional ---- */

TEST(json_required_missing_names_field)
{
	struct run r;

	run_json(&r, tab_req, KG_NFIELDS(tab_req), "{\"other\":\"x\"}");
	CHECK(!r.ok);
	CHECK_MSG(strstr(r.why, "orderId") != NULL, "reason \"%s\" does not name the field", r.why);
	done(&r);
}

TEST(params_required_missing_names_field)
{
	struct kg_params ps;
	struct kg_values v;
	char why[256] = "";

	CHECK(!run_params(tab_req, KG_NFIELDS(tab_req), "other=x", &ps, &v, why, sizeof why));
	CHECK_MSG(strstr(why, "orderId") != NULL, "reason \"%s\" does not name the field", why);
	kg_params_free(&ps);
}

TEST(json_required_empty_rejected)
{
	struct run r;

	run_json(&r, tab_req, KG_NFIELDS(tab_req), "{\"orderId\":\"\"}");
	CHECK(!r.ok);
	CHECK_MSG(strstr(r.why, "orderId") != NULL, "reason \"%s\" does not name the field", r.why);
	done(&r);
}

TEST(params_required_empty_rejected)
{
	struct kg_params ps;
	struct kg_values v;
	char why[256] = "";

	CHECK(!run_params(tab_req, KG_NFIELDS(tab_req), "orderId=", &ps, &v, why, sizeof why));
	CHECK(strstr(why, "orderId") != NULL);
	kg_params_free(&ps);
	CHECK(!run_params(tab_req, KG_NFIELDS(tab_req), "orderId", &ps, &v, why, sizeof why));
	kg_params_free(&ps);
}

TEST(required_present_accepted)
{
	struct run r;

	run_json(&r, tab_req, KG_NFIELDS(tab_req), "{\"orderId\":\"CS1906666666ABCDE\",\"x\":1}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_INT_EQ(r.vals.n, 1);
	CHECK_STR_EQ(r.vals.v[0], "CS1906666666ABCDE");
	done(&r);
}

TEST(present_empty_accepted)
{
	struct run r;
	struct kg_params ps;
	struct kg_values v;
	char why[256] = "";

	run_json(&r, tab_present, KG_NFIELDS(tab_present), "{\"expireTime\":\"\"}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], "");
	done(&r);
	CHECK_MSG(run_params(tab_present, KG_NFIELDS(tab_present), "expireTime=", &ps, &v, why, sizeof why),
	          "rejected: %s", why);
	CHECK_STR_EQ(v.v[0], "");
	kg_params_free(&ps);
}

TEST(present_missing_rejected)
{
	struct run r;

	run_json(&r, tab_present, KG_NFIELDS(tab_present), "{}");
	CHECK(!r.ok);
	CHECK(strstr(r.why, "expireTime") != NULL);
	done(&r);
}

TEST(optional_missing_is_null)
{
	struct run r;
	struct kg_params ps;
	struct kg_values v;
	char why[256] = "";

	run_json(&r, tab_opt, KG_NFIELDS(tab_opt), "{}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK(r.vals.v[0] == NULL);
	done(&r);
	CHECK(run_params(tab_opt, KG_NFIELDS(tab_opt), "a=1", &ps, &v, why, sizeof why));
	CHECK(v.v[0] == NULL);
	kg_params_free(&ps);
}

/* ---- maxlen counts characters ---- */

TEST(maxlen_counts_utf8_characters)
{
	char s[512], json[600];
	struct run r;

	repeat(s, "\xe4\xb8\xad", 64);       /* 64 × 中 = 192 bytes */
	snprintf(json, sizeof json, "{\"customerName\":\"%s\"}", s);
	run_json(&r, tab_max64, KG_NFIELDS(tab_max64), json);
	CHECK_MSG(r.ok, "64 characters rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], s);
	done(&r);
	repeat(s, "\xe4\xb8\xad", 65);
	snprintf(json, sizeof json, "{\"customerName\":\"%s\"}", s);
	run_json(&r, tab_max64, KG_NFIELDS(tab_max64), json);
	CHECK(!r.ok);
	CHECK(strstr(r.why, "customerName") != NULL);
	done(&r);
}

TEST(maxlen_ascii_boundary)
{
	char s[128], json[200];
	struct run r;

	repeat(s, "a", 64);
	snprintf(json, sizeof json, "{\"customerName\":\"%s\"}", s);
	run_json(&r, tab_max64, KG_NFIELDS(tab_max64), json);
	CHECK(r.ok);
	done(&r);
	repeat(s, "a", 65);
	snprintf(json, sizeof json, "{\"customerName\":\"%s\"}", s);
	run_json(&r, tab_max64, KG_NFIELDS(tab_max64), json);
	CHECK(!r.ok);
	done(&r);
}

TEST(maxlen_params_utf8)
{
	char q[1024];
	struct kg_params ps;
	struct kg_values v;
	char why[256] = "";

	strcpy(q, "customerName=");
	repeat(q + strlen(q), "%E4%B8%AD", 64);
	CHECK_MSG(run_params(tab_max64, KG_NFIELDS(tab_max64), q, &ps, &v, why, sizeof why),
	          "rejected: %s", why);
	kg_params_free(&ps);
	strcat(q, "%F0%9F%98%80");           /* one 4-byte character more */
	CHECK(!run_params(tab_max64, KG_NFIELDS(tab_max64), q, &ps, &v, why, sizeof why));
	kg_params_free(&ps);
}

TEST(utf8_len)
{
	CHECK_INT_EQ(kg_utf8_len(""), 0);
	CHECK_INT_EQ(kg_utf8_len("abc"), 3);
	CHECK_INT_EQ(kg_utf8_len("\xe5\xbc\xa0\xe4\xb8\x89"), 2);
	CHECK_INT_EQ(kg_utf8_len("a\xc3\xa9\xf0\x9f\x98\x80"), 3);
}

/* ---- allowed values and digits ---- */

TEST(allowed_list)
{
	struct run r;

	run_json(&r, tab_allowed, KG_NFIELDS(tab_allowed), "{\"testFlag\":\"1\"}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], "1");
	done(&r);
	run_json(&r, tab_allowed, KG_NFIELDS(tab_allowed), "{\"testFlag\":\"2\"}");
	CHECK(!r.ok);
	CHECK(strstr(r.why, "testFlag") != NULL);
	done(&r);
	run_json(&r, tab_allowed, KG_NFIELDS(tab_allowed), "{\"testFlag\":\"01\"}");
	CHECK(!r.ok);
	done(&r);
}

/* A JSON number 0/1 compares as its text with the allowed list ("0", "1"). */
TEST(allowed_list_number_as_text)
{
	struct run r;

	run_json(&r, tab_allowed, KG_NFIELDS(tab_allowed), "{\"testFlag\":0}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], "0");
	done(&r);
}

TEST(digits_only)
{
	static const char *const good[] = { "0", "12345", "00123" };
	static const char *const bad[] = { "12a", "-1", "1.0", " 1", "1 ", "+1", "\xef\xbc\x91" };
	char json[64];
	struct run r;
	size_t i;

	for (i = 0; i < UNIT_COUNT(good); i++) {
		snprintf(json, sizeof json, "{\"amount\":\"%s\"}", good[i]);
		run_json(&r, tab_digits, KG_NFIELDS(tab_digits), json);
		CHECK_MSG(r.ok, "\"%s\" rejected: %s", good[i], r.why);
		done(&r);
	}
	for (i = 0; i < UNIT_COUNT(bad); i++) {
		snprintf(json, sizeof json, "{\"amount\":\"%s\"}", bad[i]);
		run_json(&r, tab_digits, KG_NFIELDS(tab_digits), json);
		CHECK_MSG(!r.ok, "\"%s\" accepted as digits", bad[i]);
		CHECK(strstr(r.why, "amount") != NULL);
		done(&r);
	}
}

/* ---- JSON value types ---- */

TEST(json_number_and_boolean_as_text)
{
	struct run r;
	static const struct kg_field tab[] = {
		{ "flag", KG_F_REQUIRED, 0, NULL },
		{ "n", KG_F_REQUIRED, 0, NULL },
		{ "t", KG_F_REQUIRED, 0, NULL },
		{ "f", KG_F_REQUIRED, 0, NULL },
	};

	run_json(&r, tab, KG_NFIELDS(tab), "{\"flag\":1,\"n\":-42,\"t\":true,\"f\":false}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], "1");
	CHECK_STR_EQ(r.vals.v[1], "-42");
	CHECK_STR_EQ(r.vals.v[2], "true");
	CHECK_STR_EQ(r.vals.v[3], "false");
	done(&r);
}

TEST(json_object_for_string_field_rejected)
{
	struct run r;

	run_json(&r, tab_req, KG_NFIELDS(tab_req), "{\"orderId\":{\"a\":\"b\"}}");
	CHECK(!r.ok);
	CHECK(strstr(r.why, "orderId") != NULL);
	done(&r);
	run_json(&r, tab_req, KG_NFIELDS(tab_req), "{\"orderId\":[\"a\"]}");
	CHECK(!r.ok);
	done(&r);
}

TEST(object_field_keeps_compact_json)
{
	struct run r;

	run_json(&r, tab_obj, KG_NFIELDS(tab_obj),
	         "{\"productInfo\": {\"z\": 1, \"a\": [1, 2, {\"c\": null}], \"s\": \"x/y \\u00e9\"}}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], "{\"z\":1,\"a\":[1,2,{\"c\":null}],\"s\":\"x/y \xc3\xa9\"}");
	done(&r);
}

TEST(object_field_accepts_array)
{
	struct run r;

	run_json(&r, tab_obj, KG_NFIELDS(tab_obj), "{\"productInfo\":[ {\"a\":1} ]}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_STR_EQ(r.vals.v[0], "[{\"a\":1}]");
	done(&r);
}

TEST(object_field_rejects_scalar)
{
	struct run r;

	run_json(&r, tab_obj, KG_NFIELDS(tab_obj), "{\"productInfo\":\"text\"}");
	CHECK(!r.ok);
	CHECK(strstr(r.why, "productInfo") != NULL);
	done(&r);
}

TEST(json_null_is_absent)
{
	struct run r;

	run_json(&r, tab_opt, KG_NFIELDS(tab_opt), "{\"email\":null}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK(r.vals.v[0] == NULL);
	done(&r);
	run_json(&r, tab_req, KG_NFIELDS(tab_req), "{\"orderId\":null}");
	CHECK(!r.ok);
	CHECK(strstr(r.why, "orderId") != NULL);
	done(&r);
	run_json(&r, tab_present, KG_NFIELDS(tab_present), "{\"expireTime\":null}");
	CHECK(!r.ok);
	done(&r);
	run_json(&r, tab_obj, KG_NFIELDS(tab_obj), "{\"productInfo\":null}");
	CHECK(r.ok);
	CHECK(r.vals.v[0] == NULL);
	done(&r);
}

/* ---- whole tables ---- */

TEST(values_in_table_order)
{
	struct run r;

	run_json(&r, tab_multi, KG_NFIELDS(tab_multi),
	         "{\"testFlag\":\"0\",\"orderId\":\"o-1\",\"activity\":\"newInstance\"}");
	CHECK_MSG(r.ok, "rejected: %s", r.why);
	CHECK_INT_EQ(r.vals.n, 4);
	CHECK_STR_EQ(r.vals.v[0], "newInstance");
	CHECK_STR_EQ(r.vals.v[1], "o-1");
	CHECK(r.vals.v[2] == NULL);
	CHECK_STR_EQ(r.vals.v[3], "0");
	done(&r);
}

TEST(params_values_in_table_order)
{
	struct kg_params ps;
	struct kg_values v;
	char why[256] = "";

	CHECK_MSG(run_params(tab_multi, KG_NFIELDS(tab_multi),
	                     "testFlag=1&email=a%40b.c&orderId=o-2&activity=x&orderId=o-3",
	                     &ps, &v, why, sizeof why), "rejected: %s", why);
	CHECK_INT_EQ(v.n, 4);
	CHECK_STR_EQ(v.v[0], "x");
	CHECK_STR_EQ(v.v[1], "o-2");               /* first value of a repeated name */
	CHECK_STR_EQ(v.v[2], "a@b.c");
	CHECK_STR_EQ(v.v[3], "1");
	kg_params_free(&ps);
}

TEST(first_bad_field_is_named)
{
	struct run r;

	run_json(&r, tab_multi, KG_NFIELDS(tab_multi), "{\"activity\":\"a\",\"testFlag\":\"7\"}");
	CHECK(!r.ok);
	CHECK_MSG(strstr(r.why, "orderId") != NULL, "reason \"%s\"", r.why);
	done(&r);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(json_required_missing_names_field),
		UNIT(params_required_missing_names_field),
		UNIT(json_required_empty_rejected),
		UNIT(params_required_empty_rejected),
		UNIT(required_present_accepted),
		UNIT(present_empty_accepted),
		UNIT(present_missing_rejected),
		UNIT(optional_missing_is_null),
		UNIT(maxlen_counts_utf8_characters),
		UNIT(maxlen_ascii_boundary),
		UNIT(maxlen_params_utf8),
		UNIT(utf8_len),
		UNIT(allowed_list),
		UNIT(allowed_list_number_as_text),
		UNIT(digits_only),
		UNIT(json_number_and_boolean_as_text),
		UNIT(json_object_for_string_field_rejected),
		UNIT(object_field_keeps_compact_json),
		UNIT(object_field_accepts_array),
		UNIT(object_field_rejects_scalar),
		UNIT(json_null_is_absent),
		UNIT(values_in_table_order),
		UNIT(params_values_in_table_order),
		UNIT(first_bad_field_is_named),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
