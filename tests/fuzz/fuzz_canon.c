/* SPDX-License-Identifier: ISC */
/* Canonical JSON (security.md §4): kg_canon_json, kg_canon_json_deep and the
 * three kg_canon_kv variants. Invariants:
 *   - all five share one parser: they accept or refuse the same inputs with
 *     the same error;
 *   - a success is compact JSON (no raw control bytes, valid UTF-8) that
 *     kg_canon_json accepts again, and canonicalisation is a fixed point:
 *     canon(canon(x)) == canon(x), deep(deep(x)) == deep(x);
 *   - kv(canon(x)) == kv(x) for the sorted variants, and the received-order
 *     variant over canon(x) gives the sorted string of x;
 *   - json-c as the Kit/basic handlers run it (app.c parse_body: default
 *     flags, depth KG_CANON_MAX_DEPTH) accepts every body kg_canon_json
 *     accepts, and both see the same values: json-c(x) without the top-level
 *     nulls equals json-c(canon(x)) (duplicate keys: last value wins);
 *     The same for the deep form (nulls kept);
 *   - json-c's strict parser (JSON_TOKENER_STRICT | VALIDATE_UTF8) agrees on
 *     acceptance, except where json-c is laxer (jsonc_lenient_input()).
 *     FUZZ_EXPLORE=1 prints such disagreements instead of stopping.
 *
 * Keys holding an escaped NUL (\u0000) are where json-c and the canonical
 * form differ (json-c cuts object keys at the NUL, so {"a":1,"a\u0000":2}
 * is one member "a":2 for the handlers but two signed members); that known
 * finding is excluded from the value comparison unless FUZZ_NUL_KEYS=1. */
#include "fuzz.h"

#include <json-c/json.h>
#include <strings.h>

#include "buf.h"
#include "canon.h"
#include "codec.h"

/* json-c over exactly n bytes; trailing bytes other than whitespace are an error. */
static json_object *jsonc_parse(const char *s, size_t n, int flags, enum json_tokener_error *err)
{
	json_tokener *tok = json_tokener_new_ex(KG_CANON_MAX_DEPTH);
	json_object *j;

	json_tokener_set_flags(tok, flags);
	j = json_tokener_parse_ex(tok, s, (int)n);
	*err = json_tokener_get_error(tok);
	if (*err == json_tokener_success) {
		/* parse_ex stops after the first complete value */
		size_t end = json_tokener_get_parse_end(tok);

		while (end < n && (s[end] == ' ' || s[end] == '\t' || s[end] == '\n' || s[end] == '\r'))
			end++;
		if (end != n)
			*err = json_tokener_error_parse_unexpected;
	} else if (*err == json_tokener_continue) {
		/* all bytes consumed; a top-level number needs the end of input to finish */
		j = json_tokener_parse_ex(tok, "", 1);
		*err = json_tokener_get_error(tok);
	}
	if (*err != json_tokener_success) {
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(tok);
	return j;
}

static bool compact_ok(const struct kbuf *b)
{
	bool in_str = false;

	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->p[i];

		if (c < 0x20)
			return false;
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == ' ') {
			return false;
		}
	}
	return !in_str;
}

static bool has_u_escape(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (d[i] == '\\' && d[i + 1] == 'u')
			return true;
	return false;
}

static bool has_escaped_nul(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 5 < n; i++)
		if (d[i] == '\\' && d[i + 1] == 'u' && d[i + 2] == '0' && d[i + 3] == '0' &&
		    d[i + 4] == '0' && d[i + 5] == '0')
			return true;
	return false;
}

/* Where json-c 0.16's strict mode (JSON_TOKENER_STRICT | VALIDATE_UTF8) is
 * laxer than RFC 8259, and than the canonicaliser, which is right to refuse:
 *   - control bytes (< 0x20, tab and newline too) raw inside strings;
 *   - lone surrogate escapes (\uD800 alone): json-c substitutes, canon says
 *     KG_CANON_UTF8;
 *   - byte sequences its UTF-8 check lets through (e.g. F5 A0 AB A4);
 *   - numbers with leading zeros ("00", "-01"), a fraction point without
 *     digits on both sides ("0.", "1.e5", "-.5"), NaN and Infinity.
 * An input with any of these is only compared one way (canon accepts =>
 * json-c strict accepts). The scan is deliberately coarse. */
static bool jsonc_lenient_input(const uint8_t *d, size_t n)
{
	bool in_str = false;

	if (!fuzz_utf8_ok(d, n))
		return true;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = d[i], prev = i ? d[i - 1] : ' ', next = i + 1 < n ? d[i + 1] : ' ';

		if (in_str) {
			if (c < 0x20)
				return true;
			if (c == '\\') {
				if (next == 'u' && i + 2 < n && (d[i + 2] == 'd' || d[i + 2] == 'D'))
					return true;
				i++;
			} else if (c == '"') {
				in_str = false;
			}
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '.' && !(prev >= '0' && prev <= '9' && next >= '0' && next <= '9'))
			return true;
		else if (c == '0' && next >= '0' && next <= '9' &&
		         !((prev >= '0' && prev <= '9') || prev == '.' || prev == 'e' || prev == 'E' || prev == '+'))
			return true;
		else if (c == 'N' || c == 'n' || c == 'I' || c == 'i')
			if (n - i >= 3 && (strncasecmp((const char *)d + i, "nan", 3) == 0 ||
			                   strncasecmp((const char *)d + i, "inf", 3) == 0))
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct kbuf c = { 0 }, d = { 0 }, again = { 0 }, kv[3] = { { 0 } }, kv2 = { 0 };
	enum kg_canon_err ec, ed, ek[3];
	enum json_tokener_error jerr, serr;
	json_object *j, *js;
	static int nul_keys = -1, explore;

	if (nul_keys < 0) {
		nul_keys = getenv("FUZZ_NUL_KEYS") != NULL;
		explore = getenv("FUZZ_EXPLORE") != NULL;
	}

	ec = kg_canon_json(in, size, &c);
	ed = kg_canon_json_deep(in, size, &d);
	for (int v = 0; v < 3; v++)
		ek[v] = kg_canon_kv(in, size, (enum kg_kv_variant)v, &kv[v]);
	FUZZ_CHECK(ec == ed, "canon %d, deep %d", ec, ed);
	for (int v = 0; v < 3; v++)
		FUZZ_CHECK(ec == ek[v], "canon %d, kv variant %d gives %d", ec, v, ek[v]);
	if (ec != KG_CANON_OK)
		FUZZ_CHECK(c.len == 0 && d.len == 0 && kv[0].len == 0, "output appended on failure");
	/* the validator against the independent one; bad UTF-8 is reported as such */
	FUZZ_CHECK(kg_utf8_valid(in, size) == fuzz_utf8_ok(data, size), "kg_utf8_valid says %d",
	           kg_utf8_valid(in, size));
	if (!fuzz_utf8_ok(data, size))
		FUZZ_CHECK(ec == KG_CANON_UTF8, "invalid UTF-8 reported as %d", ec);
	if (ec == KG_CANON_UTF8)
		FUZZ_CHECK(!fuzz_utf8_ok(data, size) || has_u_escape(data, size),
		           "valid UTF-8 without a \\u escape refused as UTF-8");

	j = jsonc_parse(in, size, 0, &jerr);
	js = jsonc_parse(in, size, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, &serr);

	if (ec == KG_CANON_OK) {
		FUZZ_CHECK(c.len > 1 && c.p[0] == '{' && c.p[c.len - 1] == '}', "not an object: %s", c.p);
		FUZZ_CHECK(fuzz_utf8_ok(c.p, c.len) && fuzz_utf8_ok(d.p, d.len), "output not valid UTF-8");
		FUZZ_CHECK(compact_ok(&c) && compact_ok(&d), "output not compact: %s", c.p);
		FUZZ_CHECK(c.len <= size && d.len <= size && kv[0].len <= size && kv[1].len <= size,
		           "output longer than the input");

		/* fixed points */
		FUZZ_CHECK(kg_canon_json(c.p, c.len, &again) == KG_CANON_OK, "canon output refused: %s", c.p);
		FUZZ_CHECK(again.len == c.len && memcmp(again.p, c.p, c.len) == 0,
		           "not a fixed point:\n  %s\n  %s", c.p, again.p);
		kbuf_reset(&again);
		FUZZ_CHECK(kg_canon_json_deep(d.p, d.len, &again) == KG_CANON_OK, "deep output refused: %s", d.p);
		FUZZ_CHECK(again.len == d.len && memcmp(again.p, d.p, d.len) == 0,
		           "deep not a fixed point:\n  %s\n  %s", d.p, again.p);
		kbuf_reset(&again);
		FUZZ_CHECK(kg_canon_json(d.p, d.len, &again) == KG_CANON_OK, "deep output refused by canon");

		/* kv over the canonical form */
		for (int v = 0; v < 3; v++) {
			int want = v == KG_KV_RECEIVED ? KG_KV_SORTED : v;

			kbuf_reset(&kv2);
			FUZZ_CHECK(kg_canon_kv(c.p, c.len, (enum kg_kv_variant)v, &kv2) == KG_CANON_OK, "kv(canon) refused");
			FUZZ_CHECK(kv2.len == kv[want].len && (kv2.len == 0 || memcmp(kv2.p, kv[want].p, kv2.len) == 0),
			           "kv variant %d over canon(x) differs from variant %d over x:\n  %s\n  %s",
			           v, want, kv2.p ? kv2.p : "", kv[want].p ? kv[want].p : "");
		}

		/* json-c must accept what the canonicaliser accepted */
		FUZZ_CHECK(j != NULL && json_object_is_type(j, json_type_object),
		           "canon accepted, json-c refused with %s", json_tokener_error_desc(jerr));
		/* the handler's view (auth.c) comes from the same parse as the signed
		 * text, and reads like json-c's own parse of the body */
		{
			struct kg_jdoc *doc = NULL;
			json_object *view;

			FUZZ_CHECK(kg_jdoc_parse(in, size, &doc) == KG_CANON_OK, "jdoc refused what canon accepted");
			view = kg_jdoc_json(doc);
			FUZZ_CHECK(json_object_equal(view, j), "the handler's view differs from json-c's:\n  %s\n  %s",
			           json_object_to_json_string_ext(view, JSON_C_TO_STRING_PLAIN),
			           json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
			json_object_put(view);
			kg_jdoc_free(doc);
		}
		if (j && (!has_escaped_nul(data, size) || nul_keys)) {
			enum json_tokener_error e2;
			json_object *jc = jsonc_parse(c.p, c.len, 0, &e2), *jd = jsonc_parse(d.p, d.len, 0, &e2);
			json_object *copy = NULL;
			const char **drop = calloc(size / 2 + 1, sizeof *drop);
			size_t nd = 0;

			FUZZ_CHECK(jc != NULL && jd != NULL, "json-c refused the canonical form");
			FUZZ_CHECK(json_object_equal(j, jd),
			           "json-c sees different values than the deep form:\n  %s\n  %s",
			           json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), d.p);
			/* drop top-level nulls from json-c's view of the input */
			json_object_deep_copy(j, &copy, NULL);
			json_object_object_foreach(copy, k, val)
				if (!val)
					drop[nd++] = k;
			for (size_t i = 0; i < nd; i++)
				json_object_object_del(copy, drop[i]);
			FUZZ_CHECK(json_object_equal(copy, jc),
			           "json-c sees different values than the canonical form:\n  %s\n  %s",
			           json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN), c.p);
			free(drop);
			json_object_put(copy);
			json_object_put(jc);
			json_object_put(jd);
		}
	}

	/* acceptance against json-c's strict parser */
	{
		bool canon_ok = ec == KG_CANON_OK || ec == KG_CANON_NOT_OBJECT;
		bool strict_ok = serr == json_tokener_success;

		/* keys with control characters and too many values are refused on purpose */
		if (canon_ok != strict_ok && !(ec == KG_CANON_DEPTH && serr == json_tokener_error_depth) &&
		    ec != KG_CANON_KEY && ec != KG_CANON_TOO_MANY &&
		    !(strict_ok && jsonc_lenient_input(data, size))) {
			if (explore) {
				fprintf(stderr, "DIFF canon=%d strict=%s: ", ec, json_tokener_error_desc(serr));
				for (size_t i = 0; i < size && i < 120; i++)
					fprintf(stderr, data[i] >= 0x20 && data[i] < 0x7f ? "%c" : "\\x%02x", data[i]);
				fputc('\n', stderr);
			} else {
				FUZZ_CHECK(0, "canon %d, json-c strict %s", ec, json_tokener_error_desc(serr));
			}
		}
	}

	json_object_put(j);
	json_object_put(js);
	kbuf_free(&c);
	kbuf_free(&d);
	kbuf_free(&again);
	kbuf_free(&kv2);
	for (int v = 0; v < 3; v++)
		kbuf_free(&kv[v]);
	return 0;
}
