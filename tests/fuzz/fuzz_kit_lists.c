/* SPDX-License-Identifier: ISC */
/* The tolerant Kit list readers (kit-interfaces.md §4, D6/D22):
 * kit_lax_to_json and kit_list, with kit_text/kit_text_ok/kit_bool over the
 * items as the authSync and allOrgSync handlers read them. Every input is
 * used three ways:
 *   A. as lax text for kit_lax_to_json: the output is the input with only
 *      '"' characters added, strict JSON comes out unchanged, and a second
 *      pass changes nothing;
 *   B. as a whole JSON body (json-c, as app.c parses it) for kit_list with
 *      the authSync and allOrgSync names;
 *   C. as the string value of orgInfo / userList (the V1 shape), any bytes.
 * kit_list returns an array (a new reference: freed here, so leaks and
 * double frees show) or NULL with a reason; when the member is a JSON array
 * it is returned as is; a string holding strict JSON gives that array; a
 * string is only accepted when it (or its lax form) is one whole JSON array,
 * nothing after it (kit-interfaces.md §4 rule 7: an unparseable list gives
 * 000002; allOrgSync deletes what a cut list leaves out). */
#include "fuzz.h"

#include <json-c/json.h>

#include "buf.h"
#include "canon.h"
#include "kit.h"

static const char *const org_names[] = { "orgInfoList", "orgInfo", NULL };
static const char *const user_names[] = { "userList", NULL };
static const char *const item_names[] = {
	"userName", "name", "orgCode", "orgName", "parentCode", "role", "enable", "employeeType",
	"position", "employeeCode", "mobile", "email", "workPlace", "entryDate", "extension",
};

/* kit.c parses list strings with json_tokener_new_ex(32). */
#define KIT_LIST_DEPTH 32

static json_object *strict_parse(const char *s, size_t n, int depth)
{
	json_tokener *tok = json_tokener_new_ex(depth);
	json_object *j;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	j = json_tokener_parse_ex(tok, s, (int)n);
	if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n) {
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(tok);
	return j;
}

static void lax(const uint8_t *data, size_t size)
{
	struct kbuf out = { 0 }, again = { 0 };
	size_t i = 0, o = 0;
	json_object *strict;

	kit_lax_to_json((const char *)data, size, &out);
	FUZZ_CHECK(out.len >= size, "lax output shorter than its input");
	FUZZ_CHECK(size == 0 || out.p[out.len] == '\0', "lax output not terminated");
	/* the input is a subsequence of the output; every added byte is '"' */
	while (o < out.len) {
		if (i < size && out.p[o] == (char)data[i]) {
			i++;
			o++;
		} else {
			FUZZ_CHECK(out.p[o] == '"', "lax added 0x%02x at %zu", (unsigned char)out.p[o], o);
			o++;
		}
	}
	FUZZ_CHECK(i == size, "lax lost input bytes (%zu of %zu kept)", i, size);
	FUZZ_CHECK((out.len - size) % 2 == 0, "lax added an odd number of quotes");

	/* strict JSON is left alone */
	if ((strict = strict_parse((const char *)data, size, KG_CANON_MAX_DEPTH)) != NULL)
		FUZZ_CHECK(out.len == size, "lax changed strict JSON");
	json_object_put(strict);

	/* idempotent */
	if (out.len) {
		kit_lax_to_json(out.p, out.len, &again);
		FUZZ_CHECK(again.len == out.len && memcmp(again.p, out.p, out.len) == 0,
		           "lax is not idempotent:\n  %s\n  %s", out.p, again.p);
	}
	kbuf_free(&out);
	kbuf_free(&again);
}

/* The whole of s is one JSON array (json-c as kit.c runs it), at most
 * whitespace after it. */
static bool whole_array(const char *s, size_t n)
{
	json_tokener *tok = json_tokener_new_ex(KIT_LIST_DEPTH);
	json_object *j = json_tokener_parse_ex(tok, s, (int)n);
	bool ok = json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(j, json_type_array);
	size_t end = json_tokener_get_parse_end(tok);

	while (ok && end < n && (s[end] == ' ' || s[end] == '\t' || s[end] == '\n' || s[end] == '\r'))
		end++;
	json_object_put(j);
	json_tokener_free(tok);
	return ok && end == n;
}

/* Known bug K2 (README.md): tolerated with FUZZ_IGNORE_KNOWN=1. */
static bool ignore_known(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("FUZZ_IGNORE_KNOWN") != NULL;
	return v;
}

static void read_items(json_object *arr)
{
	size_t n = json_object_array_length(arr);
	char why[160];

	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(arr, i);

		for (size_t k = 0; k < sizeof item_names / sizeof *item_names; k++) {
			const char *t = kit_text(item, item_names[k]);

			if (t) {
				why[0] = '\0';
				if (!kit_text_ok(t, 64, item_names[k], why, sizeof why))
					FUZZ_CHECK(*why && fuzz_terminated(why, sizeof why), "kit_text_ok without a reason");
				(void)kit_bool(t, true);
				(void)kit_bool(t, false);
				FUZZ_CHECK(kit_bool(t, true) == kit_bool(t, false) ||
				           (strcmp(t, "true") && strcmp(t, "1") && strcmp(t, "false") && strcmp(t, "0")),
				           "kit_bool(%s) depends on its default", t);
			}
		}
	}
}

static void list(json_object *body, const char *const *names, const char *member_text, size_t member_len)
{
	char why[160] = "";
	json_object *member = NULL, *arr;

	for (const char *const *n = names; *n && !member; n++)
		if (!json_object_object_get_ex(body, *n, &member))
			member = NULL;
	arr = kit_list(body, names, why, sizeof why);
	FUZZ_CHECK(fuzz_terminated(why, sizeof why), "why not terminated");
	if (!arr) {
		FUZZ_CHECK(*why, "no list and no reason");
		FUZZ_CHECK(!member || !json_object_is_type(member, json_type_array), "an array member was refused");
		/* a string holding strict JSON array text is always a list */
		if (member_text) {
			json_object *s = strict_parse(member_text, member_len, KIT_LIST_DEPTH);

			FUZZ_CHECK(!s || !json_object_is_type(s, json_type_array),
			           "a string holding a strict JSON array was refused: %s", why);
			json_object_put(s);
		}
		return;
	}
	FUZZ_CHECK(json_object_is_type(arr, json_type_array), "kit_list returned a non-array");
	FUZZ_CHECK(member != NULL, "a list from nowhere");
	if (json_object_is_type(member, json_type_array))
		FUZZ_CHECK(arr == member, "an array member was not returned as is");
	if (json_object_is_type(member, json_type_string) && !ignore_known()) {
		const char *t = json_object_get_string(member);
		size_t tn = (size_t)json_object_get_string_len(member);
		struct kbuf lx = { 0 };
		bool whole = whole_array(t, tn);

		if (!whole) {
			kit_lax_to_json(t, tn, &lx);
			whole = lx.p && whole_array(lx.p, lx.len);
		}
		kbuf_free(&lx);
		FUZZ_CHECK(whole, "a list string with bytes after its array was accepted: %.80s", t);
	}
	read_items(arr);
	json_object_put(arr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_tokener *tok;
	json_object *body;

	lax(data, size);

	/* B: the input as the whole body */
	tok = json_tokener_new_ex(KG_CANON_MAX_DEPTH);
	body = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(body, json_type_object)) {
		list(body, org_names, NULL, 0);
		list(body, user_names, NULL, 0);
	}
	json_object_put(body);
	json_tokener_free(tok);

	/* C: the input as the V1 string value */
	body = json_object_new_object();
	json_object_object_add(body, "orgInfo", json_object_new_string_len((const char *)data, (int)size));
	json_object_object_add(body, "userList", json_object_new_string_len((const char *)data, (int)size));
	list(body, org_names, (const char *)data, size);
	list(body, user_names, (const char *)data, size);
	json_object_put(body);
	return 0;
}
