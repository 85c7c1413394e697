/* SPDX-License-Identifier: ISC */
/* Canonical JSON (security.md §4, D1): CANON-1 byte for byte, then one test
 * per rule or rejection. */
#include "unit.h"

#include "canon.h"
#include "codec.h"
#include "crypto.h"
#include "response.h"

/* CANON-1 input, exactly as in security.md §11 (JSON escapes are C-escaped here). */
static const char canon1_in[] =
	"{\"b\": {\"z\": 1, \"a\": null}, \"a\": \"x\\/y \\u00e9 \\\"q\\\" \\\\ \\t \\u0001 \\u001f\", "
	"\"c\": null, \"B\": [3, true, \"s\"], \"_\": 12.78}";
/* CANON-1 output; the é is raw UTF-8 C3 A9. */
static const char canon1_out[] =
	"{\"B\":[3,true,\"s\"],\"_\":12.78,\"a\":\"x/y \xc3\xa9 \\\"q\\\" \\\\ \\t \\u0001 \\u001F\","
	"\"b\":{\"z\":1,\"a\":null}}";
#define CANON1_HMAC "93ad79f9d80fd935963f9adfc5d56c79f181bf2e0d5e7121195aa19266e30168"

/* Runs kg_canon_json and compares the result (a helper keeps each test to one line). */
#define CHECK_CANON(in, want) do { \
	struct kbuf c_ = { 0 }; \
	enum kg_canon_err e_ = kg_canon_json((in), sizeof(in) - 1, &c_); \
	CHECK_MSG(e_ == KG_CANON_OK, "kg_canon_json(%s) returned %d", #in, (int)e_); \
	CHECK_MEM_EQ(c_.p, c_.len, (want), sizeof(want) - 1); \
	kbuf_free(&c_); \
} while (0)

#define CHECK_CANON_ERR(in, err) do { \
	struct kbuf c_ = { 0 }; \
	enum kg_canon_err e_ = kg_canon_json((in), sizeof(in) - 1, &c_); \
	CHECK_MSG(e_ == (err), "kg_canon_json(%s) returned %d, expected %s (%d)", \
	          #in, (int)e_, #err, (int)(err)); \
	kbuf_free(&c_); \
} while (0)

/* ---- CANON-1 ---- */

TEST(canon1_exact_bytes)
{
	CHECK_CANON(canon1_in, canon1_out);
}

TEST(canon1_hmac)
{
	struct kbuf c = { 0 };
	unsigned char mac[KG_SHA256_LEN];
	char hex[65];

	CHECK_INT_EQ(kg_canon_json(canon1_in, sizeof canon1_in - 1, &c), KG_CANON_OK);
	kg_hmac_sha256("test-access-key", 15, c.p, c.len, mac);
	kg_hex(mac, sizeof mac, hex);
	CHECK_STR_EQ(hex, CANON1_HMAC);
	kbuf_free(&c);
}

/* Appending to a non-empty buffer keeps what was there. */
TEST(canon_appends_to_buffer)
{
	struct kbuf c = { 0 };

	kbuf_puts(&c, "X");
	CHECK_INT_EQ(kg_canon_json("{\"a\":1}", 7, &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, "X{\"a\":1}");
	kbuf_free(&c);
}

/* ---- nulls (§4 step 3) ---- */

TEST(top_level_null_dropped_nested_kept)
{
	CHECK_CANON("{\"a\":null,\"b\":{\"c\":null},\"d\":[null],\"e\":\"null\"}",
	            "{\"b\":{\"c\":null},\"d\":[null],\"e\":\"null\"}");
}

TEST(only_nulls_gives_empty_object)
{
	CHECK_CANON("{\"a\":null,\"b\":null}", "{}");
	CHECK_CANON(" { } ", "{}");
}

/* ---- duplicate keys (§4 step 2) ---- */

TEST(duplicate_top_level_last_value_wins)
{
	CHECK_CANON("{\"b\":1,\"a\":2,\"b\":3}", "{\"a\":2,\"b\":3}");
	CHECK_CANON("{\"b\":1,\"b\":2,\"b\":3}", "{\"b\":3}");
}

TEST(duplicate_top_level_null_last_drops_member)
{
	CHECK_CANON("{\"a\":1,\"z\":0,\"a\":null}", "{\"z\":0}");
	CHECK_CANON("{\"a\":null,\"a\":\"x\"}", "{\"a\":\"x\"}");
}

TEST(duplicate_nested_last_value_at_first_position)
{
	CHECK_CANON("{\"o\":{\"x\":1,\"y\":2,\"x\":3}}", "{\"o\":{\"x\":3,\"y\":2}}");
	CHECK_CANON("{\"o\":{\"x\":1,\"y\":2,\"z\":4,\"y\":{\"q\":1},\"x\":[5]}}",
	            "{\"o\":{\"x\":[5],\"y\":{\"q\":1},\"z\":4}}");
}

TEST(duplicate_in_object_inside_array)
{
	CHECK_CANON("{\"l\":[{\"k\":\"1\",\"j\":0,\"k\":\"2\"},{\"k\":\"3\"}]}",
	            "{\"l\":[{\"k\":\"2\",\"j\":0},{\"k\":\"3\"}]}");
}

/* Keys spelt with an escape are the same key as the raw spelling. */
TEST(duplicate_key_via_escape)
{
	CHECK_CANON("{\"o\":{\"\\u0061\":1,\"b\":2,\"a\":3}}", "{\"o\":{\"a\":3,\"b\":2}}");
}

/* ---- sorting (§4 step 4) ---- */

TEST(sort_byte_order)
{
	CHECK_CANON("{\"\xc3\xa9\":1,\"ab\":2,\"a\":3,\"_\":4,\"Z\":5,\"B\":6,\"A1\":7,\"\":8,\"~\":9,\"0\":10}",
	            "{\"\":8,\"0\":10,\"A1\":7,\"B\":6,\"Z\":5,\"_\":4,\"a\":3,\"ab\":2,\"~\":9,\"\xc3\xa9\":1}");
}

/* Non-ASCII keys sort by UTF-8 bytes, not by UTF-16 units: U+FF5E (EF BD 9E)
 * sorts before U+1F600 (F0 9F 98 80) although its UTF-16 unit is larger. */
TEST(sort_non_ascii_by_utf8_bytes)
{
	CHECK_CANON("{\"\xf0\x9f\x98\x80\":1,\"\xef\xbd\x9e\":2,\"\xc3\xa9\":3}",
	            "{\"\xc3\xa9\":3,\"\xef\xbd\x9e\":2,\"\xf0\x9f\x98\x80\":1}");
}

TEST(nested_order_and_arrays_kept)
{
	CHECK_CANON("{\"x\":{\"z\":1,\"a\":{\"d\":1,\"c\":2}},\"l\":[3,1,2,{\"b\":1,\"a\":2}]}",
	            "{\"l\":[3,1,2,{\"b\":1,\"a\":2}],\"x\":{\"z\":1,\"a\":{\"d\":1,\"c\":2}}}");
}

TEST(whitespace_removed)
{
	CHECK_CANON(" \r\n\t{ \"a\" :\n[ 1 , 2 ] ,\t\"b\" : { } , \"c\" : [ ] } \n",
	            "{\"a\":[1,2],\"b\":{},\"c\":[]}");
}

/* ---- numbers and literals (§4 step 7) ---- */

TEST(numbers_keep_literal_text)
{
	CHECK_CANON("{\"a\":1.50,\"b\":-0,\"c\":1e2,\"d\":12345678901234567890123,\"e\":1E+2,\"f\":-0.0e-5,\"g\":0}",
	            "{\"a\":1.50,\"b\":-0,\"c\":1e2,\"d\":12345678901234567890123,\"e\":1E+2,\"f\":-0.0e-5,\"g\":0}");
}

TEST(literals_true_false_null)
{
	CHECK_CANON("{\"t\":true,\"f\":false,\"n\":[null]}", "{\"f\":false,\"n\":[null],\"t\":true}");
}

TEST(bad_numbers_rejected)
{
	CHECK_CANON_ERR("{\"a\":01}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1.}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":.5}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":+1}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":-}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1e}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":0x10}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":NaN}", KG_CANON_SYNTAX);
}

TEST(bad_literals_rejected)
{
	CHECK_CANON_ERR("{\"a\":tru}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":True}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":nul}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":truex}", KG_CANON_SYNTAX);
}

/* ---- strings (§4 step 6) ---- */

TEST(escaped_slash_decoded)
{
	CHECK_CANON("{\"a\":\"\\/a\\/\"}", "{\"a\":\"/a/\"}");
	CHECK_CANON("{\"u\":\"https://x/y\"}", "{\"u\":\"https://x/y\"}");
}

TEST(unicode_escape_to_raw_utf8)
{
	CHECK_CANON("{\"a\":\"\\u00e9\\u00E9\\u4e2d\"}", "{\"a\":\"\xc3\xa9\xc3\xa9\xe4\xb8\xad\"}");
}

TEST(surrogate_pair_to_four_bytes)
{
	CHECK_CANON("{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\xf0\x9f\x98\x80\"}");
	CHECK_CANON("{\"a\":\"\\uD83D\\uDE00x\"}", "{\"a\":\"\xf0\x9f\x98\x80x\"}");
}

TEST(raw_non_ascii_kept)
{
	CHECK_CANON("{\"n\":\"\xe5\xbc\xa0\xe4\xb8\x89\xf0\x9f\x98\x80\"}",
	            "{\"n\":\"\xe5\xbc\xa0\xe4\xb8\x89\xf0\x9f\x98\x80\"}");
}

TEST(control_chars_upper_hex)
{
	CHECK_CANON("{\"a\":\"\\u0001\"}", "{\"a\":\"\\u0001\"}");
	CHECK_CANON("{\"a\":\"\\u001f\"}", "{\"a\":\"\\u001F\"}");
	CHECK_CANON("{\"a\":\"\\u001b\\u000B\\u0000\"}", "{\"a\":\"\\u001B\\u000B\\u0000\"}");
}

TEST(del_is_raw)
{
	CHECK_CANON("{\"a\":\"\\u007f\"}", "{\"a\":\"\x7f\"}");
	CHECK_CANON("{\"a\":\"\x7f\"}", "{\"a\":\"\x7f\"}");
}

TEST(short_escapes)
{
	CHECK_CANON("{\"a\":\"\\b\\f\\n\\r\\t\\u0008\\u000c\\u000A\\u000d\\u0009\"}",
	            "{\"a\":\"\\b\\f\\n\\r\\t\\b\\f\\n\\r\\t\"}");
}

TEST(quote_and_backslash)
{
	CHECK_CANON("{\"a\":\"\\\"\\\\\\u0022\\u005c\"}", "{\"a\":\"\\\"\\\\\\\"\\\\\"}");
}

TEST(keys_escaped_like_values)
{
	CHECK_CANON("{\"k\\\"\\/\\u00e9\":1}", "{\"k\\\"/\xc3\xa9\":1}");
}

/* A NUL in a key would end it for json-c and C strings while the signed text
 * keeps it (issue 13 item 12): control characters in keys are refused, at
 * every level. */
TEST(key_with_control_character_refused)
{
	CHECK_CANON_ERR("{\"instanceId\\u0000\":\"evil\",\"instanceId\":\"good\"}", KG_CANON_KEY);
	CHECK_CANON_ERR("{\"k\\u0001\":1}", KG_CANON_KEY);
	CHECK_CANON_ERR("{\"k\\u007f\":1}", KG_CANON_KEY);
	CHECK_CANON_ERR("{\"a\":[{\"x\\u001f\":1}]}", KG_CANON_KEY);
	CHECK_CANON("{\"a\":\"\\u0000\"}", "{\"a\":\"\\u0000\"}");     /* values may hold them */
}

/* Bounded work for an unauthenticated body (issue 13 item 3). */
TEST(too_many_values_refused)
{
	struct kbuf in = { 0 }, out = { 0 };

	kbuf_puts(&in, "{\"a\":[");
	for (size_t i = 0; i < KG_CANON_MAX_NODES; i++)
		kbuf_puts(&in, i ? ",1" : "1");
	kbuf_puts(&in, "]}");
	/* the object, the array and the numbers: two more than allowed */
	CHECK(kg_canon_json(in.p, in.len, &out) == KG_CANON_TOO_MANY);
	kbuf_reset(&in);
	kbuf_puts(&in, "{\"a\":[");
	for (size_t i = 0; i < KG_CANON_MAX_NODES - 2; i++)
		kbuf_puts(&in, i ? ",1" : "1");
	kbuf_puts(&in, "]}");
	CHECK(kg_canon_json(in.p, in.len, &out) == KG_CANON_OK);
	kbuf_free(&in);
	kbuf_free(&out);
}

/* The handler's view comes from the same parse as the signed text. */
TEST(jdoc_json_view_matches_signed_text)
{
	static const char in[] = "{\"b\":[1,2.50,-0,1e3,true,null,\"s\\u0000t\"],\"a\":\"x\",\"a\":\"y\","
	                         "\"n\":12345678901234567890,\"o\":{\"k\":1,\"k\":2}}";
	struct kg_jdoc *d;
	struct kbuf t = { 0 };
	json_object *o, *v;

	CHECK(kg_jdoc_parse(in, sizeof in - 1, &d) == KG_CANON_OK);
	o = kg_jdoc_json(d);
	CHECK(json_object_is_type(o, json_type_object));
	CHECK(json_object_object_get_ex(o, "a", &v));
	CHECK_STR_EQ(json_object_get_string(v), "y");
	CHECK(json_object_object_get_ex(o, "b", &v) && json_object_array_length(v) == 7);
	CHECK_STR_EQ(json_object_get_string(json_object_array_get_idx(v, 1)), "2.50");
	CHECK(json_object_get_string_len(json_object_array_get_idx(v, 6)) == 3);
	CHECK(json_object_array_get_idx(v, 5) == NULL);
	CHECK(json_object_object_get_ex(o, "o", &v));
	CHECK_STR_EQ(kg_json_text(v, NULL), "{\"k\":2}");
	CHECK(kg_jdoc_member(d, "a", &t));
	CHECK_MEM_EQ(t.p, t.len, "y", 1);
	kbuf_reset(&t);
	CHECK(kg_jdoc_member(d, "n", &t));
	CHECK_STR_EQ(t.p, "12345678901234567890");
	CHECK(!kg_jdoc_member(d, "missing", &t));
	kbuf_reset(&t);
	kg_jdoc_canon(d, &t);
	CHECK_STR_EQ(t.p, "{\"a\":\"y\",\"b\":[1,2.50,-0,1e3,true,null,\"s\\u0000t\"],"
	                  "\"n\":12345678901234567890,\"o\":{\"k\":2}}");
	json_object_put(o);
	kg_jdoc_free(d);
	kbuf_free(&t);
}

/* ---- rejections ---- */

TEST(top_level_not_object)
{
	CHECK_CANON_ERR("[1,2]", KG_CANON_NOT_OBJECT);
	CHECK_CANON_ERR("\"s\"", KG_CANON_NOT_OBJECT);
	CHECK_CANON_ERR("12", KG_CANON_NOT_OBJECT);
	CHECK_CANON_ERR("true", KG_CANON_NOT_OBJECT);
	CHECK_CANON_ERR(" null ", KG_CANON_NOT_OBJECT);
}

TEST(trailing_garbage)
{
	CHECK_CANON_ERR("{\"a\":1}x", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1} {}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1}}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1}\0", KG_CANON_SYNTAX);
}

TEST(trailing_comma)
{
	CHECK_CANON_ERR("{\"a\":1,}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":[1,]}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{,}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":[,1]}", KG_CANON_SYNTAX);
}

TEST(unquoted_keys)
{
	CHECK_CANON_ERR("{a:1}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{1:1}", KG_CANON_SYNTAX);
}

TEST(single_quotes)
{
	CHECK_CANON_ERR("{'a':1}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":'x'}", KG_CANON_SYNTAX);
}

TEST(missing_colon_or_value)
{
	CHECK_CANON_ERR("{\"a\" 1}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1 \"b\":2}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":1", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"x", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":[1", KG_CANON_SYNTAX);
}

TEST(bad_escapes)
{
	CHECK_CANON_ERR("{\"a\":\"\\x41\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"\\u12\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"\\u12g4\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"\\'\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"\\", KG_CANON_SYNTAX);
}

TEST(lone_surrogate_escape)
{
	CHECK_CANON_ERR("{\"a\":\"\\ud83d\"}", KG_CANON_UTF8);
	CHECK_CANON_ERR("{\"a\":\"\\ude00\"}", KG_CANON_UTF8);
	CHECK_CANON_ERR("{\"a\":\"\\ud83dx\"}", KG_CANON_UTF8);
	CHECK_CANON_ERR("{\"a\":\"\\ud83d\\u0041\"}", KG_CANON_UTF8);
	CHECK_CANON_ERR("{\"a\":\"\\ud83d\\ud83d\"}", KG_CANON_UTF8);
	CHECK_CANON_ERR("{\"\\udc00\":1}", KG_CANON_UTF8);
}

TEST(invalid_raw_utf8)
{
	CHECK_CANON_ERR("{\"a\":\"\xff\"}", KG_CANON_UTF8);
	CHECK_CANON_ERR("{\"a\":\"\xc0\xaf\"}", KG_CANON_UTF8);          /* overlong '/' */
	CHECK_CANON_ERR("{\"a\":\"\xed\xa0\x80\"}", KG_CANON_UTF8);      /* raw surrogate */
	CHECK_CANON_ERR("{\"a\":\"\xe4\xb8\"}", KG_CANON_UTF8);          /* truncated */
	CHECK_CANON_ERR("{\"\x80\":1}", KG_CANON_UTF8);
}

TEST(raw_control_char_in_string)
{
	CHECK_CANON_ERR("{\"a\":\"x\ty\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"x\ny\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\":\"\x01\"}", KG_CANON_SYNTAX);
	CHECK_CANON_ERR("{\"a\x1f\":1}", KG_CANON_SYNTAX);
}

TEST(empty_input)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json("", 0, &c), KG_CANON_SYNTAX);
	CHECK_INT_EQ(kg_canon_json(" \n\t", 3, &c), KG_CANON_SYNTAX);
	CHECK_INT_EQ(kg_canon_json("{", 1, &c), KG_CANON_SYNTAX);
	kbuf_free(&c);
}

/* The length given is respected: bytes after it are not read. */
TEST(length_bounds_input)
{
	struct kbuf c = { 0 };
	static const char in[] = "{\"a\":1}garbage";

	CHECK_INT_EQ(kg_canon_json(in, 7, &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, "{\"a\":1}");
	kbuf_reset(&c);
	CHECK_INT_EQ(kg_canon_json(in, 6, &c), KG_CANON_SYNTAX);
	kbuf_free(&c);
}

/* ---- depth ---- */

/* levels nested containers: the top object, then alternately an array and an
 * object ([{"k":[{"k":...), with inner (a scalar, or "" for nothing) in the
 * innermost one. */
static void nest(struct kbuf *b, int levels, const char *inner)
{
	int i;

	for (i = 0; i < levels; i++) {
		bool obj = i % 2 == 0;

		kbuf_putc(b, obj ? '{' : '[');
		if (obj && (i < levels - 1 || *inner))
			kbuf_puts(b, "\"k\":");
	}
	kbuf_puts(b, inner);
	for (i = levels - 1; i >= 0; i--)
		kbuf_putc(b, i % 2 == 0 ? '}' : ']');
}

TEST(depth_max_empty_innermost_accepted)
{
	struct kbuf in = { 0 }, out = { 0 };

	nest(&in, KG_CANON_MAX_DEPTH, "");
	CHECK_INT_EQ(kg_canon_json(in.p, in.len, &out), KG_CANON_OK);
	CHECK_STR_EQ(out.p, in.p);
	kbuf_free(&in);
	kbuf_free(&out);
}

/* Exactly KG_CANON_MAX_DEPTH nested containers are accepted whatever the
 * innermost one holds: a scalar inside is not an extra nesting level. */
TEST(depth_max_with_scalar_accepted)
{
	struct kbuf in = { 0 }, out = { 0 };

	nest(&in, KG_CANON_MAX_DEPTH, "1");
	CHECK_INT_EQ(kg_canon_json(in.p, in.len, &out), KG_CANON_OK);
	CHECK_STR_EQ(out.p, in.p);
	kbuf_free(&in);
	kbuf_free(&out);
}

TEST(depth_over_max_rejected)
{
	struct kbuf in = { 0 }, out = { 0 };

	nest(&in, KG_CANON_MAX_DEPTH + 1, "");
	CHECK_INT_EQ(kg_canon_json(in.p, in.len, &out), KG_CANON_DEPTH);
	kbuf_reset(&in);
	nest(&in, KG_CANON_MAX_DEPTH + 1, "1");
	CHECK_INT_EQ(kg_canon_json(in.p, in.len, &out), KG_CANON_DEPTH);
	kbuf_free(&in);
	kbuf_free(&out);
}

/* Very deep input fails cleanly (no stack exhaustion). */
TEST(depth_huge_rejected)
{
	struct kbuf in = { 0 }, out = { 0 };
	int i;

	kbuf_putc(&in, '{');
	kbuf_puts(&in, "\"k\":");
	for (i = 0; i < 200000; i++)
		kbuf_putc(&in, '[');
	CHECK_INT_EQ(kg_canon_json(in.p, in.len, &out), KG_CANON_DEPTH);
	kbuf_free(&in);
	kbuf_free(&out);
}

/* ---- kg_canon_json_deep (D35) ---- */

TEST(deep_sorts_nested_keys)
{
	static const char in[] =
		"{\"b\":{\"z\":1,\"a\":{\"y\":2,\"x\":3}},\"a\":[{\"d\":1,\"c\":[{\"f\":0,\"e\":null}]}]}";
	static const char want[] =
		"{\"a\":[{\"c\":[{\"e\":null,\"f\":0}],\"d\":1}],\"b\":{\"a\":{\"x\":3,\"y\":2},\"z\":1}}";
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json_deep(in, sizeof in - 1, &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, want);
	kbuf_free(&c);
}

TEST(deep_same_escaping_and_duplicates)
{
	static const char in[] = "{\"s\":\"\\/\\u00e9\\u001f\",\"o\":{\"b\":1,\"a\":2,\"b\":3}}";
	static const char want[] = "{\"o\":{\"a\":2,\"b\":3},\"s\":\"/\xc3\xa9\\u001F\"}";
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json_deep(in, sizeof in - 1, &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, want);
	kbuf_free(&c);
}

TEST(deep_rejects_like_canon)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json_deep("[1]", 3, &c), KG_CANON_NOT_OBJECT);
	CHECK_INT_EQ(kg_canon_json_deep("{\"a\":1,}", 8, &c), KG_CANON_SYNTAX);
	CHECK_INT_EQ(kg_canon_json_deep("{\"a\":\"\xff\"}", 8, &c), KG_CANON_UTF8);
	kbuf_free(&c);
}

/* ---- kg_canon_kv: the V1 Kit authToken string (§6, D13) ---- */

#define KITA_BODY "{\"instanceId\":\"huaweitest123456\",\"orderId\":\"CS1906666666ABCDE\",\"tenantId\":\"68cbc86abc2018ab880d92f36422fa0e\",\"tenantCode\":\"huawei\",\"name\":\"huaweitest\",\"domainName\":\"https://example.tenantaccount.com\",\"flag\":1,\"testFlag\":0,\"timeStamp\":\"20220413093539534\"}"
#define KITV1_STR "domainName=https://example.tenantaccount.com&flag=1&instanceId=huaweitest123456&name=huaweitest&orderId=CS1906666666ABCDE&tenantCode=huawei&tenantId=68cbc86abc2018ab880d92f36422fa0e&testFlag=0&timeStamp=20220413093539534"

#define CHECK_KV(in, variant, want) do { \
	struct kbuf c_ = { 0 }; \
	enum kg_canon_err e_ = kg_canon_kv((in), sizeof(in) - 1, (variant), &c_); \
	CHECK_MSG(e_ == KG_CANON_OK, "kg_canon_kv(%s) returned %d", #in, (int)e_); \
	CHECK_MEM_EQ(c_.p ? c_.p : "", c_.len, (want), sizeof(want) - 1); \
	kbuf_free(&c_); \
} while (0)

TEST(kv_kit_v1a_string_to_sign)
{
	CHECK_KV(KITA_BODY, KG_KV_SORTED, KITV1_STR);
}

TEST(kv_value_types)
{
	CHECK_KV("{\"s\":\"a\\\"b\\u00e9 \\/\",\"n\":1.50,\"t\":true,\"f\":false,\"z\":null,"
	         "\"o\": {\"y\": 1, \"x\": [2, \"\\u0001\"]},\"a\":[ ]}",
	         KG_KV_SORTED,
	         "a=[]&f=false&n=1.50&o={\"y\":1,\"x\":[2,\"\\u0001\"]}&s=a\"b\xc3\xa9 /&t=true");
}

/* V1 userList/orgInfo are strings holding JSON: their content is used. */
TEST(kv_json_in_string)
{
	CHECK_KV("{\"userList\":\"[{\\\"a\\\":1}]\",\"timeStamp\":\"1\"}", KG_KV_SORTED,
	         "timeStamp=1&userList=[{\"a\":1}]");
}

TEST(kv_received_order)
{
	CHECK_KV("{\"p1\":\"1\",\"p3\":3,\"z\":null,\"p2\":\"2\",\"timeStamp\":\"201706211855321\"}",
	         KG_KV_RECEIVED, "p1=1&p3=3&p2=2&timeStamp=201706211855321");
	CHECK_KV("{\"p1\":\"1\",\"p3\":3,\"z\":null,\"p2\":\"2\",\"timeStamp\":\"201706211855321\"}",
	         KG_KV_SORTED, "p1=1&p2=2&p3=3&timeStamp=201706211855321");
}

TEST(kv_form_decoded_strings)
{
	CHECK_KV("{\"b\":\"a%2Bb+c%E5%BC%A0\",\"a\":1}", KG_KV_SORTED_FORMDECODED,
	         "a=1&b=a+b c\xe5\xbc\xa0");
	CHECK_KV("{\"b\":\"a%2Bb+c\",\"a\":1}", KG_KV_SORTED, "a=1&b=a%2Bb+c");
}

TEST(kv_empty_and_duplicates)
{
	CHECK_KV("{}", KG_KV_SORTED, "");
	CHECK_KV("{\"a\":null}", KG_KV_SORTED, "");
	CHECK_KV("{\"e\":\"\",\"d\":1,\"d\":2}", KG_KV_SORTED, "d=2&e=");
}

TEST(kv_rejects_like_canon)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_kv("[1]", 3, KG_KV_SORTED, &c), KG_CANON_NOT_OBJECT);
	CHECK_INT_EQ(kg_canon_kv("{\"a\":1,}", 8, KG_KV_SORTED, &c), KG_CANON_SYNTAX);
	CHECK_INT_EQ(kg_canon_kv("{\"a\":\"\xff\"}", 8, KG_KV_SORTED, &c), KG_CANON_UTF8);
	CHECK_INT_EQ(kg_canon_kv("", 0, KG_KV_SORTED, &c), KG_CANON_SYNTAX);
	kbuf_free(&c);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(canon1_exact_bytes),
		UNIT(canon1_hmac),
		UNIT(canon_appends_to_buffer),
		UNIT(top_level_null_dropped_nested_kept),
		UNIT(only_nulls_gives_empty_object),
		UNIT(duplicate_top_level_last_value_wins),
		UNIT(duplicate_top_level_null_last_drops_member),
		UNIT(duplicate_nested_last_value_at_first_position),
		UNIT(duplicate_in_object_inside_array),
		UNIT(duplicate_key_via_escape),
		UNIT(sort_byte_order),
		UNIT(sort_non_ascii_by_utf8_bytes),
		UNIT(nested_order_and_arrays_kept),
		UNIT(whitespace_removed),
		UNIT(numbers_keep_literal_text),
		UNIT(literals_true_false_null),
		UNIT(bad_numbers_rejected),
		UNIT(bad_literals_rejected),
		UNIT(escaped_slash_decoded),
		UNIT(unicode_escape_to_raw_utf8),
		UNIT(surrogate_pair_to_four_bytes),
		UNIT(raw_non_ascii_kept),
		UNIT(control_chars_upper_hex),
		UNIT(key_with_control_character_refused),
		UNIT(too_many_values_refused),
		UNIT(jdoc_json_view_matches_signed_text),
		UNIT(del_is_raw),
		UNIT(short_escapes),
		UNIT(quote_and_backslash),
		UNIT(keys_escaped_like_values),
		UNIT(top_level_not_object),
		UNIT(trailing_garbage),
		UNIT(trailing_comma),
		UNIT(unquoted_keys),
		UNIT(single_quotes),
		UNIT(missing_colon_or_value),
		UNIT(bad_escapes),
		UNIT(lone_surrogate_escape),
		UNIT(invalid_raw_utf8),
		UNIT(raw_control_char_in_string),
		UNIT(empty_input),
		UNIT(length_bounds_input),
		UNIT(depth_max_empty_innermost_accepted),
		UNIT(depth_max_with_scalar_accepted),
		UNIT(depth_over_max_rejected),
		UNIT(depth_huge_rejected),
		UNIT(deep_sorts_nested_keys),
		UNIT(deep_same_escaping_and_duplicates),
		UNIT(deep_rejects_like_canon),
		UNIT(kv_kit_v1a_string_to_sign),
		UNIT(kv_value_types),
		UNIT(kv_json_in_string),
		UNIT(kv_received_order),
		UNIT(kv_form_decoded_strings),
		UNIT(kv_empty_and_duplicates),
		UNIT(kv_rejects_like_canon),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
