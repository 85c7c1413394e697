/* SPDX-License-Identifier: ISC */
/* Signature vectors of security.md §11 and the behaviour of kg_verify_v1/v2.
 * Expected values are the literal strings from the spec, never values the
 * library computed. */
#include "unit.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "canon.h"
#include "codec.h"
#include "crypto.h"
#include "params.h"
#include "sign.h"

/* ---- vectors (security.md §11), copied verbatim ---- */

#define V1A_QUERY \
	"activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c" \
	"&customerId=68cbc86abc2018ab880d92f36422fa0e&expireTime=20200727153156" \
	"&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1" \
	"&timeStamp=20200727073711903&authToken=Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ="
#define V1A_JOINED \
	"activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c" \
	"&customerId=68cbc86abc2018ab880d92f36422fa0e&expireTime=20200727153156" \
	"&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1" \
	"&timeStamp=20200727073711903"
#define V1A_TS    "20200727073711903"
#define V1A_TOKEN "Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ="
#define V1B_TOKEN "RnasHBCr5x4SWKDzYdRzxPpw+dXKnhObZ4Mv3NOdwec="

#define V1C_QUERY \
	"activity=queryInstance&instanceId=id-1%2Cid-2&testFlag=1&timeStamp=20230327065233980" \
	"&authToken=ogOjtKwAT8bXaDKlHUSPw4KK7P0Ro7HRiYCvtmTFu1E%3D"
#define V1C_JOINED "activity=queryInstance&instanceId=id-1,id-2&testFlag=1&timeStamp=20230327065233980"
#define V1C_TS     "20230327065233980"
#define V1C_TOKEN  "ogOjtKwAT8bXaDKlHUSPw4KK7P0Ro7HRiYCvtmTFu1E="

#define KEY "test-access-key"

#define V2A_NONCE "9FB42E04DF4594B1FAA50B304E647AD7154AB9B4F144A65F1168886540A8B24C"
#define V2A_TS    "1680508237508"
#define V2A_BODY  "{\"testFlag\":\"0\",\"instanceId\":\"10e758d0-31ad-4c4b-8f1b-81d03469a10e\",\"activity\":\"queryInstance\"}"
#define V2A_CANON "{\"activity\":\"queryInstance\",\"instanceId\":\"10e758d0-31ad-4c4b-8f1b-81d03469a10e\",\"testFlag\":\"0\"}"
#define V2A_INNER "eeb70220ec016b83820fdd8df7395a177e6e37d77daa3a0b79ddf6055ccdf267"
#define V2A_SIG   "679E06EDBD1395D2544BD6CF771F77C913C81FAFC8A09C3E14099405AA7D421C"

#define V2B_NONCE "RLLUammMSInlrNWb"
#define V2B_TS    "1680508066618"
#define V2B_BODY  "{\"activity\":\"newInstance\",\"orderId\":\"CS1906666666ABCDE\",\"orderLineId\":\"CS1906666666ABCDE-000001\",\"businessId\":\"61e834ba-7b97-4418-b8f7-e5345137278c\",\"testFlag\":\"1\"}"
#define V2B_CANON "{\"activity\":\"newInstance\",\"businessId\":\"61e834ba-7b97-4418-b8f7-e5345137278c\",\"orderId\":\"CS1906666666ABCDE\",\"orderLineId\":\"CS1906666666ABCDE-000001\",\"testFlag\":\"1\"}"
#define V2B_INNER "fd7e28fa00fe6133c04c4f30bdbf915bdc200d3ebb32559b79d12403091960f6"
#define V2B_SIG   "0A2CDACC034EE0497A34F4E6B725E2B18B93AFF2CB7FA97B5A2D6001B209C98E"
#define V2B_RESP  "{\"resultCode\":\"000000\",\"resultMsg\":\"success.\",\"instanceId\":\"61e834ba-7b97-4418-b8f7-e5345137278c\"}"
#define V2B_BODYSIGN "sign_type=\"HMAC-SHA256\", signature=\"aRBXOCZGi6thyORWTtOed/6S50JAtL1cRWgj9La/qfs=\""

#define KIT_KEY   "test-kit-key"
#define KIT_NONCE "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA"
#define KIT_TS    "1680508066618"
#define KITA_BODY "{\"instanceId\":\"huaweitest123456\",\"orderId\":\"CS1906666666ABCDE\",\"tenantId\":\"68cbc86abc2018ab880d92f36422fa0e\",\"tenantCode\":\"huawei\",\"name\":\"huaweitest\",\"domainName\":\"https://example.tenantaccount.com\",\"flag\":1,\"testFlag\":0,\"timeStamp\":\"20220413093539534\"}"
#define KITA_CANON "{\"domainName\":\"https://example.tenantaccount.com\",\"flag\":1,\"instanceId\":\"huaweitest123456\",\"name\":\"huaweitest\",\"orderId\":\"CS1906666666ABCDE\",\"tenantCode\":\"huawei\",\"tenantId\":\"68cbc86abc2018ab880d92f36422fa0e\",\"testFlag\":0,\"timeStamp\":\"20220413093539534\"}"
#define KITA_SIGN "b75ebdffe07793d3ddc0e9a0872b890e8db11e5009f8aa04cc95f91b6632b108"
#define KITA_RESP "{\"resultCode\":\"000000\",\"resultMsg\":\"Success\"}"
#define KITA_BODYSIGN "sign_type=\"HMAC-SHA256\", signature=\"I6Ro5Uy8O1UScYEjmS474Hp9AZMlktYmTKs6dnUpe+8=\""

#define KITB_BODY "{\"instanceId\":\"huaweitest123456\",\"tenantId\":\"68cbc86abc2018ab880d92f36422fa0e\",\"appId\":\"app-0001\",\"userList\":[{\"userName\":\"zhangsan01\",\"name\":\"张三\",\"orgCode\":\"10000\",\"role\":\"admin\",\"enable\":\"true\",\"employeeType\":1}],\"currentSyncTime\":\"20220413093539534\",\"flag\":1,\"testFlag\":0,\"timeStamp\":\"20220413093539534\",\"extra\":null}"
#define KITB_CANON "{\"appId\":\"app-0001\",\"currentSyncTime\":\"20220413093539534\",\"flag\":1,\"instanceId\":\"huaweitest123456\",\"tenantId\":\"68cbc86abc2018ab880d92f36422fa0e\",\"testFlag\":0,\"timeStamp\":\"20220413093539534\",\"userList\":[{\"userName\":\"zhangsan01\",\"name\":\"张三\",\"orgCode\":\"10000\",\"role\":\"admin\",\"enable\":\"true\",\"employeeType\":1}]}"
#define KITB_SIGN "192ad91776846c5482229d458662c66c304ceccaa7cfde92eb29553030e58e1c"

#define KITV1_STR "domainName=https://example.tenantaccount.com&flag=1&instanceId=huaweitest123456&name=huaweitest&orderId=CS1906666666ABCDE&tenantCode=huawei&tenantId=68cbc86abc2018ab880d92f36422fa0e&testFlag=0&timeStamp=20220413093539534"
#define KITV1_TS    "20220413093539534"
#define KITV1_TOKEN "R+MiYI6WRrb0xqWgJKjtk3bF89Vc8uo/pJilroZ8X0k="

#define BODYA_BODY "{\"resultCode\":\"000000\",\"resultMsg\":\"success.\"}"
#define BODYA_SIGN "sign_type=\"HMAC-SHA256\", signature=\"gw4QPFTQi+z0h6e2a3LogBWbT+b5cyVCeQdEdWUPCd4=\""
#define BODYB_BODY "{\"resultCode\":\"000000\",\"resultMsg\":\"成功\"}"
#define BODYB_SIG  "y4hxX74FBcrXl3xEn61bwBoFr9FKZdf8IwTPozjP5To="

#define PUSH_KEY   "isv-key-example"
#define PUSH_BODY  "{\"usage_records\":[{\"begin_time\":\"20220809T080000Z\",\"end_time\":\"20220809T090000Z\",\"instance_id\":\"7f141bf1-aec8-4859-8323-fb3a8ad50721\",\"metering_sn\":\"sn-0001\",\"record_time\":\"20220809T091000Z\",\"usage_value\":\"99\"}]}"
#define PUSH_STS   "ts=1700000000000&nonce=0123456789abcdef&body=" PUSH_BODY
#define PUSH_SIG   "N43B+DvV843zAKIMPbGFG40h1B0DaKioUo5PGeWozdU="

#define MSN_IN  "7f141bf1-aec8-4859-8323-fb3a8ad50721|20220809T080000Z|20220809T090000Z"
#define MSN_OUT "246812c4cd8ce2f3a487ad91df964755806851853f71e53804beac28bcaa803f"

/* ---- helpers ---- */

static struct kg_keyring ring1(const char *k)
{
	struct kg_keyring r = { .n = 1 };

	r.keys[0] = (char *)k;
	return r;
}

/* Independent reference for §2 (OpenSSL directly, not the library): lower-case hex. */
static void ref_v2_basic(const char *key, const char *nonce, const char *ts,
                         const char *payload, size_t n, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char mac[32];
	unsigned int len = 32;
	char inner[65], msg[1024];
	int i;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)payload, n, mac, &len);
	for (i = 0; i < 32; i++) {
		inner[2 * i] = hx[mac[i] >> 4];
		inner[2 * i + 1] = hx[mac[i] & 15];
	}
	inner[64] = '\0';
	snprintf(msg, sizeof msg, "%s%s%s%s", key, nonce, ts, inner);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac, &len);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hx[mac[i] >> 4];
		out[2 * i + 1] = hx[mac[i] & 15];
	}
	out[64] = '\0';
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void hmac_hex(const char *key, const char *data, size_t n, char out[65])
{
	unsigned char mac[KG_SHA256_LEN];

	kg_hmac_sha256(key, strlen(key), data, n, mac);
	kg_hex(mac, sizeof mac, out);
}

/* ---- V1-A ---- */

TEST(v1a_joined_from_published_query)
{
	struct kg_params ps = { 0 };
	struct kbuf j = { 0 };

	CHECK(kg_params_parse(&ps, V1A_QUERY, strlen(V1A_QUERY), KG_URL_FORM));
	kg_v1_joined(&ps, &j);
	CHECK_STR_EQ(j.p, V1A_JOINED);
	kg_params_free(&ps);
	kbuf_free(&j);
}

TEST(v1a_hmac_key_is_key_plus_timestamp)
{
	unsigned char mac[KG_SHA256_LEN];
	struct kbuf b = { 0 };

	kg_hmac_sha256("xxxxxxx20200727073711903", 24, V1A_JOINED, strlen(V1A_JOINED), mac);
	kg_b64_put(&b, mac, sizeof mac);
	CHECK_STR_EQ(b.p, V1A_TOKEN);
	kbuf_free(&b);
}

TEST(v1a_sign_v1)
{
	struct kbuf b = { 0 };

	kg_sign_v1("xxxxxxx", V1A_TS, V1A_JOINED, strlen(V1A_JOINED), &b);
	CHECK_STR_EQ(b.p, V1A_TOKEN);
	kbuf_free(&b);
}

/* The published URL sends "++" unencoded: form decoding yields two spaces,
 * which the app turns back into '+' before verifying (§1 step 7). */
TEST(v1a_verify_after_space_to_plus)
{
	struct kg_params ps = { 0 };
	struct kbuf j = { 0 };
	struct kg_keyring r = ring1("xxxxxxx");
	const char *tok;
	char fixed[128];
	size_t i;

	CHECK(kg_params_parse(&ps, V1A_QUERY, strlen(V1A_QUERY), KG_URL_FORM));
	tok = kg_params_get(&ps, "authToken");
	CHECK(tok != NULL);
	CHECK_STR_EQ(tok, "Gzbfjf9LHRBcI3bFVi  sLinCNOBF6qa7is1fvjEgYQ=");
	CHECK(strlen(tok) < sizeof fixed);
	for (i = 0; tok[i]; i++)
		fixed[i] = tok[i] == ' ' ? '+' : tok[i];
	fixed[i] = '\0';
	CHECK_STR_EQ(kg_params_get(&ps, "timeStamp"), V1A_TS);
	kg_v1_joined(&ps, &j);
	CHECK_INT_EQ(kg_verify_v1(&r, V1A_TS, j.p, j.len, fixed), 0);
	/* without the transformation the token does not match */
	CHECK_INT_EQ(kg_verify_v1(&r, V1A_TS, j.p, j.len, tok), -1);
	kg_params_free(&ps);
	kbuf_free(&j);
}

TEST(v1a_verify_rejects_wrong_key_and_timestamp)
{
	struct kg_keyring r = ring1("xxxxxxy");
	struct kg_keyring good = ring1("xxxxxxx");

	CHECK_INT_EQ(kg_verify_v1(&r, V1A_TS, V1A_JOINED, strlen(V1A_JOINED), V1A_TOKEN), -1);
	CHECK_INT_EQ(kg_verify_v1(&good, "20200727073711904", V1A_JOINED, strlen(V1A_JOINED), V1A_TOKEN), -1);
	CHECK_INT_EQ(kg_verify_v1(&good, V1A_TS, V1A_JOINED, strlen(V1A_JOINED) - 1, V1A_TOKEN), -1);
	CHECK_INT_EQ(kg_verify_v1(&good, V1A_TS, V1A_JOINED, strlen(V1A_JOINED), "Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ"), -1);
	CHECK_INT_EQ(kg_verify_v1(&good, V1A_TS, V1A_JOINED, strlen(V1A_JOINED), ""), -1);
}

TEST(v1_verify_key_rotation)
{
	struct kg_keyring r = { .n = 3, .keys = { "old-key", "xxxxxxx", "newer-key" } };

	CHECK_INT_EQ(kg_verify_v1(&r, V1A_TS, V1A_JOINED, strlen(V1A_JOINED), V1A_TOKEN), 1);
}

/* ---- V1-B ---- */

TEST(v1b_other_key)
{
	struct kbuf b = { 0 };
	struct kg_keyring r = ring1(KEY);

	kg_sign_v1(KEY, V1A_TS, V1A_JOINED, strlen(V1A_JOINED), &b);
	CHECK_STR_EQ(b.p, V1B_TOKEN);
	CHECK_INT_EQ(kg_verify_v1(&r, V1A_TS, V1A_JOINED, strlen(V1A_JOINED), V1B_TOKEN), 0);
	kbuf_free(&b);
}

/* ---- V1-C ---- */

TEST(v1c_url_decoding)
{
	struct kg_params ps = { 0 };
	struct kbuf j = { 0 }, b = { 0 };
	struct kg_keyring r = ring1(KEY);

	CHECK(kg_params_parse(&ps, V1C_QUERY, strlen(V1C_QUERY), KG_URL_FORM));
	kg_v1_joined(&ps, &j);
	CHECK_STR_EQ(j.p, V1C_JOINED);
	CHECK_STR_EQ(kg_params_get(&ps, "authToken"), V1C_TOKEN);
	kg_sign_v1(KEY, V1C_TS, j.p, j.len, &b);
	CHECK_STR_EQ(b.p, V1C_TOKEN);
	CHECK_INT_EQ(kg_verify_v1(&r, V1C_TS, j.p, j.len, kg_params_get(&ps, "authToken")), 0);
	kg_params_free(&ps);
	kbuf_free(&j);
	kbuf_free(&b);
}

/* ---- kg_v1_joined rules (§1 steps 3–5) ---- */

TEST(v1_joined_first_value_of_repeated_name_kept)
{
	static const char q[] = "b=2&a=first&authToken=x&a=second&authToken=y";
	struct kg_params ps = { 0 };
	struct kbuf j = { 0 };

	CHECK(kg_params_parse(&ps, q, strlen(q), KG_URL_FORM));
	kg_v1_joined(&ps, &j);
	CHECK_STR_EQ(j.p, "a=first&b=2");
	kg_params_free(&ps);
	kbuf_free(&j);
}

TEST(v1_joined_byte_order_and_empty_values)
{
	static const char q[] = "a=1&Z=2&_=3&empty=&noeq&B=%20x";
	struct kg_params ps = { 0 };
	struct kbuf j = { 0 };

	CHECK(kg_params_parse(&ps, q, strlen(q), KG_URL_FORM));
	kg_v1_joined(&ps, &j);
	CHECK_STR_EQ(j.p, "B= x&Z=2&_=3&a=1&empty=&noeq=");
	kg_params_free(&ps);
	kbuf_free(&j);
}

/* ---- V2-A ---- */

TEST(v2a_canonical_payload)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json(V2A_BODY, strlen(V2A_BODY), &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, V2A_CANON);
	kbuf_free(&c);
}

TEST(v2a_inner_hmac)
{
	char hex[65];

	hmac_hex(KEY, V2A_CANON, strlen(V2A_CANON), hex);
	CHECK_STR_EQ(hex, V2A_INNER);
}

TEST(v2a_signature)
{
	char sig[65];

	kg_sign_v2_basic(KEY, V2A_NONCE, V2A_TS, V2A_CANON, strlen(V2A_CANON), sig);
	CHECK_STR_EQ(sig, V2A_SIG);
}

/* Received body in another key order: the canonical candidate verifies. */
TEST(v2a_verify_canonical_for_reordered_keys)
{
	struct kg_keyring r = ring1(KEY);
	struct kbuf c = { 0 };
	enum kg_sigform form = KG_SIGFORM_NONE;

	CHECK_INT_EQ(kg_canon_json(V2A_BODY, strlen(V2A_BODY), &c), KG_CANON_OK);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, V2A_SIG,
	                          c.p, c.len, V2A_BODY, strlen(V2A_BODY), &form), 0);
	CHECK_INT_EQ(form, KG_SIGFORM_CANONICAL);
	kbuf_free(&c);
}

/* ---- V2-B ---- */

TEST(v2b_canonical_inner_signature)
{
	struct kbuf c = { 0 };
	char hex[65];

	CHECK_INT_EQ(kg_canon_json(V2B_BODY, strlen(V2B_BODY), &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, V2B_CANON);
	hmac_hex(KEY, c.p, c.len, hex);
	CHECK_STR_EQ(hex, V2B_INNER);
	kg_sign_v2_basic(KEY, V2B_NONCE, V2B_TS, c.p, c.len, hex);
	CHECK_STR_EQ(hex, V2B_SIG);
	kbuf_free(&c);
}

TEST(v2b_verify)
{
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form = KG_SIGFORM_NONE;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2B_NONCE, V2B_TS, V2B_SIG,
	                          V2B_CANON, strlen(V2B_CANON), V2B_BODY, strlen(V2B_BODY), &form), 0);
	CHECK_INT_EQ(form, KG_SIGFORM_CANONICAL);
}

TEST(v2b_response_body_sign)
{
	struct kbuf b = { 0 };

	kg_body_sign(KEY, V2B_RESP, strlen(V2B_RESP), &b);
	CHECK_STR_EQ(b.p, V2B_BODYSIGN);
	kbuf_free(&b);
}

/* ---- kg_verify_v2 behaviour ---- */

/* A sender that signed its raw bytes (not canonical): the raw fallback matches. */
TEST(v2_verify_raw_fallback)
{
	static const char raw[] = "{ \"testFlag\" : \"0\", \"activity\" : \"queryInstance\" }";
	struct kg_keyring r = ring1(KEY);
	struct kbuf c = { 0 };
	enum kg_sigform form = KG_SIGFORM_NONE;
	char sig[65];

	CHECK_INT_EQ(kg_canon_json(raw, strlen(raw), &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, "{\"activity\":\"queryInstance\",\"testFlag\":\"0\"}");
	ref_v2_basic(KEY, V2A_NONCE, V2A_TS, raw, strlen(raw), sig);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, sig,
	                          c.p, c.len, raw, strlen(raw), &form), 0);
	CHECK_INT_EQ(form, KG_SIGFORM_RAW);
	kbuf_free(&c);
}

/* The same raw-signed request without the raw candidate does not verify. */
TEST(v2_verify_raw_signature_needs_raw_candidate)
{
	static const char raw[] = "{ \"testFlag\" : \"0\", \"activity\" : \"queryInstance\" }";
	static const char canon[] = "{\"activity\":\"queryInstance\",\"testFlag\":\"0\"}";
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form = KG_SIGFORM_CANONICAL;
	char sig[65];

	ref_v2_basic(KEY, V2A_NONCE, V2A_TS, raw, strlen(raw), sig);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, sig,
	                          canon, strlen(canon), canon, strlen(canon), &form), -1);
	CHECK_INT_EQ(form, KG_SIGFORM_NONE);
}

TEST(v2_verify_upper_and_lower_hex)
{
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form;
	char low[65] = V2A_SIG, mixed[65] = V2A_SIG;

	lower(low);
	mixed[1] = (char)tolower((unsigned char)mixed[1]);   /* "67" stays, 'E' -> 'e' below */
	mixed[3] = (char)tolower((unsigned char)mixed[3]);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), 0);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, low,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), 0);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, mixed,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), 0);
}

TEST(v2_verify_rejects_wrong_key)
{
	struct kg_keyring r = ring1("test-access-kez");
	enum kg_sigform form;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	CHECK_INT_EQ(form, KG_SIGFORM_NONE);
}

TEST(v2_verify_rejects_wrong_nonce)
{
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r,
	                          "9FB42E04DF4594B1FAA50B304E647AD7154AB9B4F144A65F1168886540A8B24D", V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	/* the nonce is used exactly as received: case matters */
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r,
	                          "9fb42e04df4594b1faa50b304e647ad7154ab9b4f144a65f1168886540a8b24c", V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
}

TEST(v2_verify_rejects_wrong_timestamp)
{
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, "1680508237509", V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	/* seconds instead of milliseconds */
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, "1680508237", V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
}

TEST(v2_verify_rejects_wrong_payload)
{
	static const char other[] = "{\"activity\":\"queryInstance\",\"instanceId\":\"10e758d0-31ad-4c4b-8f1b-81d03469a10f\",\"testFlag\":\"0\"}";
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, V2A_SIG,
	                          other, strlen(other), other, strlen(other), &form), -1);
}

TEST(v2_verify_rejects_bad_lengths)
{
	struct kg_keyring r = ring1(KEY);
	enum kg_sigform form;
	char s63[64], s65[66];

	memcpy(s63, V2A_SIG, 63);
	s63[63] = '\0';
	memcpy(s65, V2A_SIG, 64);
	s65[64] = '0';
	s65[65] = '\0';
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, s63,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, s65,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, "",
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	/* truncated to 32 characters (half) */
	s63[32] = '\0';
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, s63,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
}

TEST(v2_verify_key_rotation_returns_index)
{
	struct kg_keyring r = { .n = 2, .keys = { "old-access-key", KEY } };
	enum kg_sigform form = KG_SIGFORM_NONE;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), 1);
	CHECK_INT_EQ(form, KG_SIGFORM_CANONICAL);
}

TEST(v2_verify_empty_keyring)
{
	struct kg_keyring r = { .n = 0 };
	enum kg_sigform form;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &r, V2A_NONCE, V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
}

/* A basic signature is not a Kit signature and vice versa (§3 vs §2). */
TEST(v2_verify_scheme_not_interchangeable)
{
	struct kg_keyring basic = ring1(KEY), kit = ring1(KIT_KEY);
	enum kg_sigform form;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_KIT, &basic, V2A_NONCE, V2A_TS, V2A_SIG,
	                          V2A_CANON, strlen(V2A_CANON), V2A_BODY, strlen(V2A_BODY), &form), -1);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_BASIC, &kit, KIT_NONCE, KIT_TS, KITA_SIGN,
	                          KITA_CANON, strlen(KITA_CANON), KITA_BODY, strlen(KITA_BODY), &form), -1);
}

/* ---- KIT-A ---- */

TEST(kita_canonical_payload)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json(KITA_BODY, strlen(KITA_BODY), &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, KITA_CANON);
	kbuf_free(&c);
}

TEST(kita_x_sign)
{
	char sig[65];

	kg_sign_kit(KIT_KEY, KIT_NONCE, KIT_TS, KITA_CANON, strlen(KITA_CANON), sig);
	CHECK_STR_EQ(sig, KITA_SIGN);
}

TEST(kita_verify_kit_scheme_any_case)
{
	struct kg_keyring r = ring1(KIT_KEY);
	enum kg_sigform form = KG_SIGFORM_NONE;
	char upper[65] = KITA_SIGN;
	size_t i;

	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_KIT, &r, KIT_NONCE, KIT_TS, KITA_SIGN,
	                          KITA_CANON, strlen(KITA_CANON), KITA_BODY, strlen(KITA_BODY), &form), 0);
	CHECK_INT_EQ(form, KG_SIGFORM_CANONICAL);
	for (i = 0; upper[i]; i++)
		upper[i] = (char)toupper((unsigned char)upper[i]);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_KIT, &r, KIT_NONCE, KIT_TS, upper,
	                          KITA_CANON, strlen(KITA_CANON), KITA_BODY, strlen(KITA_BODY), &form), 0);
}

TEST(kita_body_sign)
{
	struct kbuf b = { 0 };

	kg_body_sign(KIT_KEY, KITA_RESP, strlen(KITA_RESP), &b);
	CHECK_STR_EQ(b.p, KITA_BODYSIGN);
	kbuf_free(&b);
}

/* ---- KIT-B ---- */

TEST(kitb_canonical_payload)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json(KITB_BODY, strlen(KITB_BODY), &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, KITB_CANON);
	kbuf_free(&c);
}

TEST(kitb_x_sign_and_verify)
{
	struct kg_keyring r = ring1(KIT_KEY);
	enum kg_sigform form = KG_SIGFORM_NONE;
	char sig[65];

	kg_sign_kit(KIT_KEY, KIT_NONCE, KIT_TS, KITB_CANON, strlen(KITB_CANON), sig);
	CHECK_STR_EQ(sig, KITB_SIGN);
	CHECK_INT_EQ(kg_verify_v2(KG_SCHEME_KIT, &r, KIT_NONCE, KIT_TS, KITB_SIGN,
	                          KITB_CANON, strlen(KITB_CANON), KITB_BODY, strlen(KITB_BODY), &form), 0);
	CHECK_INT_EQ(form, KG_SIGFORM_CANONICAL);
}

/* ---- KIT-V1-A ---- */

TEST(kit_v1a_auth_token)
{
	struct kbuf b = { 0 };
	struct kg_keyring r = ring1(KIT_KEY);

	kg_sign_v1(KIT_KEY, KITV1_TS, KITV1_STR, strlen(KITV1_STR), &b);
	CHECK_STR_EQ(b.p, KITV1_TOKEN);
	CHECK_INT_EQ(kg_verify_v1(&r, KITV1_TS, KITV1_STR, strlen(KITV1_STR), KITV1_TOKEN), 0);
	kbuf_reset(&b);
	{
		unsigned char mac[KG_SHA256_LEN];
		static const char hk[] = "test-kit-key20220413093539534";

		kg_hmac_sha256(hk, strlen(hk), KITV1_STR, strlen(KITV1_STR), mac);
		kg_b64_put(&b, mac, sizeof mac);
		CHECK_STR_EQ(b.p, KITV1_TOKEN);
	}
	kbuf_free(&b);
}

/* The whole V1 Kit chain: KIT-A body -> D13 string -> authToken. */
TEST(kit_v1a_from_body)
{
	struct kbuf str = { 0 }, tok = { 0 };
	struct kg_keyring r = ring1(KIT_KEY);

	CHECK_INT_EQ(kg_canon_kv(KITA_BODY, strlen(KITA_BODY), KG_KV_SORTED, &str), KG_CANON_OK);
	CHECK_STR_EQ(str.p, KITV1_STR);
	kg_sign_v1(KIT_KEY, KITV1_TS, str.p, str.len, &tok);
	CHECK_STR_EQ(tok.p, KITV1_TOKEN);
	CHECK_INT_EQ(kg_verify_v1(&r, KITV1_TS, str.p, str.len, KITV1_TOKEN), 0);
	kbuf_free(&str);
	kbuf_free(&tok);
}

/* ---- BODY-A / BODY-B ---- */

TEST(body_a)
{
	struct kbuf b = { 0 };

	kg_body_sign(KEY, BODYA_BODY, strlen(BODYA_BODY), &b);
	CHECK_STR_EQ(b.p, BODYA_SIGN);
	kbuf_free(&b);
}

TEST(body_b_utf8)
{
	struct kbuf b = { 0 };

	kg_body_sign(KEY, BODYB_BODY, strlen(BODYB_BODY), &b);
	CHECK_STR_EQ(b.p, "sign_type=\"HMAC-SHA256\", signature=\"" BODYB_SIG "\"");
	kbuf_free(&b);
}

/* The key is the plain access key, not key + timeStamp, and every byte counts. */
TEST(body_sign_covers_exact_bytes)
{
	struct kbuf a = { 0 }, b = { 0 };

	kg_body_sign(KEY, BODYA_BODY "\n", strlen(BODYA_BODY) + 1, &a);
	CHECK(strcmp(a.p, BODYA_SIGN) != 0);
	kg_body_sign(KEY "20200727073711903", BODYA_BODY, strlen(BODYA_BODY), &b);
	CHECK(strcmp(b.p, BODYA_SIGN) != 0);
	kbuf_free(&a);
	kbuf_free(&b);
}

/* ---- PUSH-A ---- */

TEST(push_a_signature)
{
	unsigned char mac[KG_SHA256_LEN];
	struct kbuf b = { 0 };

	kg_hmac_sha256(PUSH_KEY, strlen(PUSH_KEY), PUSH_STS, strlen(PUSH_STS), mac);
	kg_b64_put(&b, mac, sizeof mac);
	CHECK_STR_EQ(b.p, PUSH_SIG);
	kbuf_free(&b);
}

/* D35: the pushed body is the deep-sorted compact JSON; PUSH-A's body is already that. */
TEST(push_a_body_is_deep_canonical)
{
	struct kbuf c = { 0 };

	CHECK_INT_EQ(kg_canon_json_deep(PUSH_BODY, strlen(PUSH_BODY), &c), KG_CANON_OK);
	CHECK_STR_EQ(c.p, PUSH_BODY);
	kbuf_free(&c);
}

/* ---- MSN-1 ---- */

TEST(msn_1)
{
	unsigned char d[KG_SHA256_LEN];
	char hex[65];

	kg_sha256(MSN_IN, strlen(MSN_IN), d);
	kg_hex(d, sizeof d, hex);
	CHECK_STR_EQ(hex, MSN_OUT);
}

TEST(sigform_names)
{
	CHECK_STR_EQ(kg_sigform_name(KG_SIGFORM_CANONICAL), "canonical");
	CHECK_STR_EQ(kg_sigform_name(KG_SIGFORM_RAW), "raw");
	CHECK_STR_EQ(kg_sigform_name((enum kg_sigform)99), "?");
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(v1a_joined_from_published_query),
		UNIT(v1a_hmac_key_is_key_plus_timestamp),
		UNIT(v1a_sign_v1),
		UNIT(v1a_verify_after_space_to_plus),
		UNIT(v1a_verify_rejects_wrong_key_and_timestamp),
		UNIT(v1_verify_key_rotation),
		UNIT(v1b_other_key),
		UNIT(v1c_url_decoding),
		UNIT(v1_joined_first_value_of_repeated_name_kept),
		UNIT(v1_joined_byte_order_and_empty_values),
		UNIT(v2a_canonical_payload),
		UNIT(v2a_inner_hmac),
		UNIT(v2a_signature),
		UNIT(v2a_verify_canonical_for_reordered_keys),
		UNIT(v2b_canonical_inner_signature),
		UNIT(v2b_verify),
		UNIT(v2b_response_body_sign),
		UNIT(v2_verify_raw_fallback),
		UNIT(v2_verify_raw_signature_needs_raw_candidate),
		UNIT(v2_verify_upper_and_lower_hex),
		UNIT(v2_verify_rejects_wrong_key),
		UNIT(v2_verify_rejects_wrong_nonce),
		UNIT(v2_verify_rejects_wrong_timestamp),
		UNIT(v2_verify_rejects_wrong_payload),
		UNIT(v2_verify_rejects_bad_lengths),
		UNIT(v2_verify_key_rotation_returns_index),
		UNIT(v2_verify_empty_keyring),
		UNIT(v2_verify_scheme_not_interchangeable),
		UNIT(kita_canonical_payload),
		UNIT(kita_x_sign),
		UNIT(kita_verify_kit_scheme_any_case),
		UNIT(kita_body_sign),
		UNIT(kitb_canonical_payload),
		UNIT(kitb_x_sign_and_verify),
		UNIT(kit_v1a_auth_token),
		UNIT(kit_v1a_from_body),
		UNIT(body_a),
		UNIT(body_b_utf8),
		UNIT(body_sign_covers_exact_bytes),
		UNIT(push_a_signature),
		UNIT(push_a_body_is_deep_canonical),
		UNIT(msn_1),
		UNIT(sigform_names),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
