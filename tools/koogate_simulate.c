/* SPDX-License-Identifier: ISC */
/* koogate simulate: the seller console's debugging tool on the vendor's desk.
 * It sends what KooGallery sends, signed as KooGallery signs (V2 basic, V1
 * basic, Kit V2 and V1), to any production URL, and checks each answer as
 * the console does: HTTP 200, resultCode, required fields and lengths,
 * Body-Sign over the exact body, and appInfo that decrypts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "koogate.h"
#include "apig.h"
#include "buf.h"
#include "canon.h"
#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "sign.h"

struct sim {
	const char *url;          /* the production address */
	bool        v1;
	bool        test;
	int         passed, failed;
	bool        quiet;        /* polling: failures are not reported */
	char        tag[16];      /* makes generated ids unique per run */
	const char *product;      /* V1 productId */
	EVP_PKEY   *pub;          /* the vendor's public key, for clientSecret */
};

static void result(struct sim *s, bool ok, const char *step, const char *why)
{
	if (s->quiet)
		return;
	if (ok) {
		s->passed++;
		printf("ok %s\n", step);
	} else {
		s->failed++;
		printf("FAIL %s: ", step);
		put_text(stdout, why);      /* may quote the server's answer */
		putchar('\n');
	}
	fflush(stdout);
}

static void now_v1(char out[24], int utc_offset_h)
{
	struct timespec ts;
	struct tm tm;
	time_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = ts.tv_sec + utc_offset_h * 3600;
	gmtime_r(&t, &tm);
	strftime(out, 15, "%Y%m%d%H%M%S", &tm);
	snprintf(out + 14, 10, "%03d", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Sends one call and checks the transport, Body-Sign and resultCode. The
 * parsed answer is returned (caller puts it), or NULL. */
static json_object *call(struct sim *s, const char *step, const char *path, const char *method,
                         const char *query, const char *body, const char *const *headers,
                         const char *family_key, const char *want_code)
{
	struct kbuf url = { 0 }, want = { 0 };
	struct kg_http_response resp;
	char bodysign[256], why[300];
	json_object *j = NULL, *code;

	kbuf_printf(&url, "%s%s%s%s", s->url, path, query ? "?" : "", query ? query : "");
	if (!kg_http(method, url.p, headers, body, body ? strlen(body) : 0, 5000, &resp)) {
		snprintf(why, sizeof why, "no answer: %s", resp.error);
		result(s, false, step, why);
	} else if (resp.status != 200) {
		snprintf(why, sizeof why, "HTTP %ld", resp.status);
		result(s, false, step, why);
	} else if (!kg_http_header(&resp, "Body-Sign", bodysign, sizeof bodysign)) {
		result(s, false, step, "response does not contain Body-Sign or the Body-Sign format is incorrect");
	} else if (kg_body_sign(family_key, resp.body.p, resp.body.len, &want), strcmp(want.p, bodysign) != 0) {
		result(s, false, step, "Body-Sign does not verify with the interface's key");
	} else if (!(j = json_tokener_parse(resp.body.p)) || !json_object_object_get_ex(j, "resultCode", &code)) {
		result(s, false, step, "Parse response body failed");
		json_object_put(j);
		j = NULL;
	} else if (strcmp(json_object_get_string(code), want_code) != 0) {
		snprintf(why, sizeof why, "resultCode %s, expected %s (%s)", json_object_get_string(code), want_code,
		         resp.body.p);
		result(s, false, step, why);
		json_object_put(j);
		j = NULL;
	}
	kbuf_free(&url);
	kbuf_free(&want);
	kg_http_response_free(&resp);
	return j;
}

/* A basic call, V2 (POST JSON, query signature) or V1 (GET, authToken). */
static json_object *basic(struct sim *s, const char *step, json_object *params, const char *want_code)
{
	const char *key = kg_cfg.basic_keys.keys[0];
	struct kbuf q = { 0 }, canon = { 0 };
	json_object *r;

	if (s->test)
		json_object_object_add(params, "testFlag", json_object_new_string("1"));
	if (s->v1) {
		struct kg_params ps = { 0 };
		struct kbuf joined = { 0 }, token = { 0 }, form = { 0 };
		char ts[24];

		now_v1(ts, 0);
		json_object_object_add(params, "timeStamp", json_object_new_string(ts));
		json_object_object_foreach(params, k, v) {
			if (form.len)
				kbuf_putc(&form, '&');
			kg_uri_encode(k, strlen(k), &form);
			kbuf_putc(&form, '=');
			kg_uri_encode(json_object_get_string(v), strlen(json_object_get_string(v)), &form);
		}
		kg_params_parse(&ps, form.p, form.len, KG_URL_FORM);
		kg_v1_joined(&ps, &joined);
		kg_sign_v1(key, ts, joined.p, joined.len, &token);
		kbuf_printf(&q, "%s&authToken=", form.p);
		kg_uri_encode(token.p, token.len, &q);
		r = call(s, step, "", "GET", q.p, NULL, NULL, key, want_code);
		kg_params_free(&ps);
		kbuf_free(&joined);
		kbuf_free(&token);
		kbuf_free(&form);
	} else {
		const char *body = json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN);
		char sig[65], ts[24], nonce[33];
		const char *headers[] = { "Content-Type: application/json;charset=utf8", "Accept: application/json", NULL };

		kg_canon_json(body, strlen(body), &canon);
		snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) * 1000);
		kg_random_chars(nonce, 32, "0123456789ABCDEF");
		kg_sign_v2_basic(key, nonce, ts, canon.p, canon.len, sig);
		kbuf_printf(&q, "signature=%s&timestamp=%s&nonce=%s", sig, ts, nonce);
		r = call(s, step, "", "POST", q.p, body, headers, key, want_code);
	}
	kbuf_free(&q);
	kbuf_free(&canon);
	json_object_put(params);
	return r;
}

static json_object *obj(const char *k1, const char *v1, ...)
{
	json_object *o = json_object_new_object();
	va_list ap;
	const char *k = k1, *v = v1;

	va_start(ap, v1);
	while (k) {
		if (v)
			json_object_object_add(o, k, json_object_new_string(v));
		k = va_arg(ap, const char *);
		if (k)
			v = va_arg(ap, const char *);
	}
	va_end(ap);
	return o;
}

/* The console's appInfo checks: frontEndUrl ≤ 512, encrypted fields decrypt. */
static void check_app_info(struct sim *s, const char *step, json_object *app, const char *encrypt_type)
{
	struct kg_aeskey key;
	json_object *v;
	char why[200];

	if (!app || !json_object_object_get_ex(app, "frontEndUrl", &v) || !json_object_get_string_len(v)) {
		result(s, false, step, "response does not contain appInfo.frontEndUrl");
		return;
	}
	if (json_object_get_string_len(v) > 512) {
		result(s, false, step, "length of frontEndUrl is invalid");
		return;
	}
	kg_aeskey_derive(&key, kg_cfg.basic_keys.keys[0],
	                 encrypt_type && strcmp(encrypt_type, "2") == 0 ? KG_ENC_AES128 : KG_ENC_AES256);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "password" : "userName";
		struct kbuf plain = { 0 };

		if (!json_object_object_get_ex(app, name, &v))
			continue;
		if (!kg_appinfo_decrypt(&key, json_object_get_string(v), (size_t)json_object_get_string_len(v), &plain)) {
			snprintf(why, sizeof why, "appInfo.%s does not decrypt with the access key", name);
			result(s, false, step, why);
			kbuf_free(&plain);
			return;
		}
		kbuf_free(&plain);
	}
	result(s, true, step, NULL);
}

static const char *jget(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* usageInfo (D14): pay-per-use and package instances only, usageValue a
 * number with at most 4 decimals, statisticalTime yyyyMMddHHmmss. */
static void check_usage_info(struct sim *s, const char *step, json_object *e, bool ondemand)
{
	json_object *u, *v;
	const char *t, *dot;
	char name[240];

	snprintf(name, sizeof name, "%s usageInfo", step);
	if (!json_object_object_get_ex(e, "usageInfo", &u)) {
		if (ondemand)
			printf("note %s: none; koogate reports it once Query Order or usage_on_demand_products "
			       "names the product as pay-per-use (D14)\n", name);
		return;
	}
	if (!ondemand) {
		result(s, false, name, "usageInfo for an instance that is not billed by use");
		return;
	}
	if (!json_object_object_get_ex(u, "usageValue", &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
	    json_object_get_double(v) < 0 ||
	    ((dot = strchr(json_object_get_string(v), '.')) && strlen(dot + 1) > 4)) {
		result(s, false, name, "usageValue must be a number >= 0 with at most 4 decimals");
		return;
	}
	t = jget(u, "statisticalTime");
	if (!t || strlen(t) != 14 || strspn(t, "0123456789") != 14) {
		result(s, false, name, "statisticalTime must be yyyyMMddHHmmss");
		return;
	}
	result(s, true, name, NULL);
}

/* Polls queryInstance until the instance is ready (provisioning may take a moment). */
static void query(struct sim *s, const char *id, bool ondemand)
{
	char step[200];

	snprintf(step, sizeof step, "%s queryInstance %s", s->v1 ? "V1" : "V2", id);
	for (int tries = 0; tries < 20; tries++) {
		json_object *r, *info, *e;

		s->quiet = tries < 19;
		r = basic(s, step, obj("activity", "queryInstance", "instanceId", id, NULL), "000000");
		s->quiet = false;
		if (r && json_object_object_get_ex(r, "info", &info) && (e = json_object_array_get_idx(info, 0))) {
			json_object *app = NULL;
			json_object_object_get_ex(e, "appInfo", &app);
			check_app_info(s, step, app, jget(r, "encryptType"));
			check_usage_info(s, step, e, ondemand);
			json_object_put(r);
			return;
		}
		json_object_put(r);
		usleep(500000);
	}
	result(s, false, step, "the instance never appeared in queryInstance");
}

/* A step that only needs its resultCode: call() reported any failure. */
static void step_ok(struct sim *s, const char *step, json_object *r)
{
	if (r)
		result(s, true, step, NULL);
	json_object_put(r);
}

static int lifecycle(struct sim *s, const char *mode)
{
	char order[64], line[80], business[64], id[65] = "", step[160], expire[16];
	const char *v = s->v1 ? "V1" : "V2";
	bool period = !strcmp(mode, "period"), ondemand = !strcmp(mode, "ondemand");
	json_object *r;
	time_t later = time(NULL) + 400 * 86400;
	struct tm tm;

	if (strcmp(mode, "period") && strcmp(mode, "onetime") && strcmp(mode, "ondemand")) {
		fprintf(stderr, "koogate: --mode is period, onetime or ondemand\n");
		return 2;
	}
	gmtime_r(&later, &tm);
	strftime(expire, sizeof expire, "%Y%m%d%H%M%S", &tm);
	snprintf(order, sizeof order, "SIM%s%s", mode, s->tag);
	snprintf(line, sizeof line, "%s-000001", order);
	snprintf(business, sizeof business, "sim-%s-%s", mode, s->tag);
	snprintf(step, sizeof step, "%s newInstance (%s)", v, mode);
	r = s->v1 ? basic(s, step, obj("activity", "newInstance", "orderId", order, "businessId", business,
	                               "productId", s->product, "customerId", "sim-customer",
	                               "chargingMode", ondemand ? "1" : period ? "0" : "3",
	                               "expireTime", period ? expire : NULL, NULL), "000000")
	          : basic(s, step, obj("activity", "newInstance", "orderId", order, "orderLineId", line,
	                               "businessId", business, NULL), "000000");
	if (r && jget(r, "instanceId") && strlen(jget(r, "instanceId")) <= 64) {
		snprintf(id, sizeof id, "%s", jget(r, "instanceId"));
		result(s, true, step, NULL);
		if (s->v1) {
			json_object *app = NULL;
			json_object_object_get_ex(r, "appInfo", &app);
			snprintf(step, sizeof step, "V1 newInstance appInfo");
			check_app_info(s, step, app, jget(r, "encryptType"));
		}
	} else if (r) {
		result(s, false, step, "response does not contain instanceId");
	}
	json_object_put(r);
	if (!*id)
		return 1;
	query(s, id, ondemand);
	if (!strcmp(mode, "onetime"))
		goto release;
	snprintf(step, sizeof step, "%s refreshInstance (renewal)", v);
	r = s->v1 ? basic(s, step, obj("activity", "refreshInstance", "instanceId", id, "orderId", order,
	                               "expireTime", expire, NULL), "000000")
	          : basic(s, step, obj("activity", "refreshInstance", "instanceId", id, "orderId", order,
	                               "orderLineId", line, "scene", "RENEWAL", "expireTime", expire, NULL), "000000");
	step_ok(s, step, r);
	snprintf(step, sizeof step, "%s freeze", v);
	r = s->v1 ? basic(s, step, obj("activity", ondemand ? "instanceStatus" : "expireInstance", "instanceId", id,
	                               ondemand ? "instanceStatus" : "orderId", ondemand ? "FREEZE" : order, NULL), "000000")
	          : basic(s, step, obj("activity", "updateInstanceStatus", "instanceId", id, "status", "FREEZE", NULL), "000000");
	step_ok(s, step, r);
	if (!s->v1 || ondemand) {
		snprintf(step, sizeof step, "%s unfreeze", v);
		r = s->v1 ? basic(s, step, obj("activity", "instanceStatus", "instanceId", id, "instanceStatus", "NORMAL", NULL), "000000")
		          : basic(s, step, obj("activity", "updateInstanceStatus", "instanceId", id, "status", "UNFREEZE", NULL), "000000");
		step_ok(s, step, r);
	}
	if (period) {
		char up[80];
		snprintf(up, sizeof up, "%sUP", order);
		snprintf(step, sizeof step, "%s upgrade", v);
		r = s->v1 ? basic(s, step, obj("activity", "upgrade", "instanceId", id, "orderId", up, "skuCode", "sim-sku-2",
		                               "productId", s->product, NULL), "000000")
		          : basic(s, step, obj("activity", "upgradeInstance", "instanceId", id, "orderId", up,
		                               "orderLineId", "UP-000001", NULL), "000000");
		step_ok(s, step, r);
	}
release:
	for (int i = 0; i < 2; i++) {
		snprintf(step, sizeof step, "%s releaseInstance%s", v, i ? " again (idempotent)" : "");
		r = basic(s, step, obj("activity", "releaseInstance", "instanceId", id, "orderId", order, NULL), "000000");
		step_ok(s, step, r);
	}
	snprintf(step, sizeof step, "%s unknown instance → 000003", v);
	r = basic(s, step, obj("activity", "releaseInstance", "instanceId", "sim-never-seen", "orderId", order, NULL), "000003");
	step_ok(s, step, r);
	return 0;
}

/* A Kit call, V2 (x-sign headers) or V1 (authToken header), with the Kit key. */
static json_object *kit(struct sim *s, const char *step, const char *name, json_object *body, const char *want)
{
	const char *key = kg_cfg.kit_keys.keys[0], *text;
	struct kbuf path = { 0 }, canon = { 0 }, h1 = { 0 }, h2 = { 0 }, h3 = { 0 }, token = { 0 };
	char ts[24], nonce[65], sig[65];
	json_object *r;

	now_v1(ts, 8);         /* the body timeStamp is China time */
	json_object_object_add(body, "testFlag", json_object_new_int(s->test));
	json_object_object_add(body, "timeStamp", json_object_new_string(ts));
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	kbuf_printf(&path, "/produceAPI/%s%s", s->v1 ? "" : "v2/", name);
	if (s->v1) {
		kg_canon_kv(text, strlen(text), KG_KV_SORTED, &canon);
		kg_sign_v1(key, ts, canon.p, canon.len, &token);
		kbuf_printf(&h1, "authToken: %s", token.p);
	} else {
		kg_canon_json(text, strlen(text), &canon);
		snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) * 1000);
		kg_random_chars(nonce, 64, "0123456789ABCDEF");
		kg_sign_kit(key, nonce, ts, canon.p, canon.len, sig);
		kbuf_printf(&h1, "x-sign: %s", sig);
		kbuf_printf(&h2, "x-timestamp: %s", ts);
		kbuf_printf(&h3, "x-nonce: %s", nonce);
	}
	const char *headers[] = { "Content-Type: application/json", h1.p, s->v1 ? NULL : h2.p, h3.p, NULL };
	r = call(s, step, path.p, "POST", NULL, text, headers, key, want);
	json_object_put(body);
	kbuf_free(&path);
	kbuf_free(&canon);
	kbuf_free(&h1);
	kbuf_free(&h2);
	kbuf_free(&h3);
	kbuf_free(&token);
	return r;
}

static json_object *kit_body(const char *instance, const char *tenant, int flag)
{
	json_object *o = obj("instanceId", instance, "tenantId", tenant, NULL);

	if (flag >= 0)
		json_object_object_add(o, "flag", json_object_new_int(flag));
	return o;
}

/* RSA-OAEP (SHA-256, MGF1-SHA1), as the marketplace encrypts the clientSecret. */
static bool encrypt_secret(struct sim *s, const char *secret, struct kbuf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(s->pub, NULL);
	unsigned char ct[1024];
	size_t len = sizeof ct;
	bool ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
	          EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
	          EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
	          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) == 1 &&
	          EVP_PKEY_encrypt(ctx, ct, &len, (const unsigned char *)secret, strlen(secret)) == 1;

	if (ok)
		kg_b64_put(out, ct, len);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static json_object *users(const char *const *names, int n, const char *role, bool v1)
{
	json_object *list = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *u = obj("userName", names[i], "name", names[i], "orgCode", "sim-dept-1", "role",
		                     i == 0 ? "admin" : role, "enable", "true", NULL);
		json_object_array_add(list, u);
	}
	if (!v1)
		return list;
	/* V1 sends the list as a string holding JSON */
	json_object *str = json_object_new_string(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN));
	json_object_put(list);
	return str;
}

static int kit_scenario(struct sim *s, const char *instance)
{
	static const char *const names[] = { "sim-admin", "sim-user-1", "sim-user-2" };
	char tenant[64], step[128];
	struct kbuf secret = { 0 };
	const char *v = s->v1 ? "V1" : "V2";
	json_object *b;

	snprintf(tenant, sizeof tenant, "sim-tenant-%s", s->tag);
	b = kit_body(instance, tenant, 1);
	json_object_object_add(b, "orderId", json_object_new_string(""));
	json_object_object_add(b, "tenantCode", json_object_new_string(tenant));
	json_object_object_add(b, "name", json_object_new_string("Simulated Enterprise"));
	json_object_object_add(b, "domainName", json_object_new_string("https://idp.example.com"));
	snprintf(step, sizeof step, "%s tenantSync add", v);
	step_ok(s, step, kit(s, step, "tenantSync", b, "000000"));

	snprintf(step, sizeof step, "%s applicationSync add (clientSecret RSA-OAEP)", v);
	if (!encrypt_secret(s, "sim-client-secret", &secret)) {
		result(s, false, step, "cannot encrypt with the public key");
	} else {
		b = kit_body(instance, tenant, 1);
		json_object_object_add(b, "appId", json_object_new_string("sim-app"));
		json_object_object_add(b, "clientId", json_object_new_string("sim-client"));
		json_object_object_add(b, "clientSecret", json_object_new_string(secret.p));
		step_ok(s, step, kit(s, step, "applicationSync", b, "000000"));
	}
	snprintf(step, sizeof step, "%s applicationSync with an undecryptable secret → 000101", v);
	b = kit_body(instance, tenant, 1);
	json_object_object_add(b, "appId", json_object_new_string("sim-app-bad"));
	json_object_object_add(b, "clientId", json_object_new_string("sim-client"));
	json_object_object_add(b, "clientSecret", json_object_new_string("bm90IGVuY3J5cHRlZA=="));
	step_ok(s, step, kit(s, step, "applicationSync", b, "000101"));

	snprintf(step, sizeof step, "%s authSync add 3 users", v);
	b = kit_body(instance, tenant, 1);
	json_object_object_add(b, "appId", json_object_new_string("sim-app"));
	json_object_object_add(b, "userList", users(names, 3, "user", s->v1));
	json_object_object_add(b, "currentSyncTime", json_object_new_string("20260101000000000"));
	step_ok(s, step, kit(s, step, "authSync", b, "000000"));

	snprintf(step, sizeof step, "%s allOrgSync (2 departments)", v);
	b = kit_body(instance, tenant, -1);
	json_object *orgs = json_object_new_array();
	json_object_array_add(orgs, obj("orgCode", "sim-dept-1", s->v1 ? "name" : "orgName", "Development", "parentCode", "", NULL));
	json_object_array_add(orgs, obj("orgCode", "sim-dept-2", s->v1 ? "name" : "orgName", "Testing", "parentCode", "sim-dept-1", NULL));
	if (s->v1) {
		json_object_object_add(b, "orgInfo", json_object_new_string(json_object_to_json_string_ext(orgs, JSON_C_TO_STRING_PLAIN)));
		json_object_put(orgs);
	} else {
		json_object_object_add(b, "orgInfoList", orgs);
	}
	step_ok(s, step, kit(s, step, "allOrgSync", b, "000000"));

	snprintf(step, sizeof step, "%s singleOrgSync add", v);
	b = kit_body(instance, tenant, 1);
	json_object_object_add(b, "orgCode", json_object_new_string("sim-dept-3"));
	json_object_object_add(b, "orgName", json_object_new_string("Operations"));
	json_object_object_add(b, "parentCode", json_object_new_string("sim-dept-1"));
	step_ok(s, step, kit(s, step, "singleOrgSync", b, "000000"));

	snprintf(step, sizeof step, "%s authSync %s one user", v, s->v1 ? "delete" : "revoke");
	b = kit_body(instance, tenant, s->v1 ? 0 : 3);
	json_object_object_add(b, "appId", json_object_new_string("sim-app"));
	json_object_object_add(b, "userList", users(names + 2, 1, "user", s->v1));
	step_ok(s, step, kit(s, step, "authSync", b, "000000"));

	snprintf(step, sizeof step, "%s singleOrgSync delete", v);
	b = kit_body(instance, tenant, 0);
	json_object_object_add(b, "orgCode", json_object_new_string("sim-dept-3"));
	step_ok(s, step, kit(s, step, "singleOrgSync", b, "000000"));
	kbuf_free(&secret);
	return 0;
}

static EVP_PKEY *public_key(const char *file)
{
	char err[256], first[1024];
	FILE *f;
	EVP_PKEY *k = NULL;

	if (file) {
		size_t n;
		char *text = read_file(file, &n);
		struct kbuf der = { 0 };

		if (text && strstr(text, "-----BEGIN")) {
			BIO *bio = BIO_new_mem_buf(text, (int)n);
			k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
			BIO_free(bio);
		} else if (text && kg_b64_decode(text, n, &der)) {
			const unsigned char *p = (const unsigned char *)der.p;
			k = d2i_PUBKEY(NULL, &p, (long)der.len);
		}
		free(text);
		kbuf_free(&der);
		return k;
	}
	/* the public half of rsa_private_key: the first file is the key pair
	 * the app credential holds now */
	if (!*kg_cfg.rsa_private_key || !kg_rsa_load(kg_cfg.rsa_private_key, err, sizeof err))
		return NULL;
	snprintf(first, sizeof first, "%.*s", (int)strcspn(kg_cfg.rsa_private_key, ","), kg_cfg.rsa_private_key);
	for (char *e = first + strlen(first); e > first && e[-1] == ' '; )
		*--e = '\0';
	if ((f = fopen(first, "r"))) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	return k;
}

int cmd_simulate(int argc, char **argv)
{
	struct opt o[] = { { "url", true, NULL, false }, { "v1", false, NULL, false }, { "test", false, NULL, false },
	                   { "mode", true, "all", false }, { "public-key", true, NULL, false },
	                   { "instance", true, "", false }, { "product", true, "sim-product", false } };
	const char *what = NULL;
	struct sim s = { 0 };
	unsigned char r[4];

	if (!parse_opts(argc, argv, o, 7, &what) || !what || (strcmp(what, "lifecycle") && strcmp(what, "kit"))) {
		fprintf(stderr, "usage: koogate simulate lifecycle [--mode period|onetime|ondemand|all] [--v1] [--test]\n"
		                "                                  [--product ID] [--url URL]\n"
		                "       koogate simulate kit [--v1] [--test] [--instance ID] [--public-key FILE] [--url URL]\n");
		return 2;
	}
	if (!load_config())
		return 2;
	s.url = o[0].value ? o[0].value : getenv("KOOGATE_URL");
	if (!s.url) {
		fprintf(stderr, "koogate: give the production address with --url (or $KOOGATE_URL)\n");
		return 2;
	}
	s.v1 = o[1].set;
	s.test = o[2].set;
	s.product = o[6].value;
	kg_random(r, sizeof r);
	snprintf(s.tag, sizeof s.tag, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	kg_http_allow_plain = true;         /* a local server while developing */
	if (!strcmp(what, "kit")) {
		if (!kg_cfg.kit_keys.n) {
			fprintf(stderr, "koogate: kit_keys is empty\n");
			return 2;
		}
		if (!(s.pub = public_key(o[4].value))) {
			fprintf(stderr, "koogate: no public key: give --public-key FILE or set rsa_private_key\n");
			return 2;
		}
		kit_scenario(&s, o[5].value);
		EVP_PKEY_free(s.pub);
	} else {
		static const char *const modes[] = { "period", "onetime", "ondemand" };
		for (size_t i = 0; i < 3; i++)
			if (!strcmp(o[3].value, "all") || !strcmp(o[3].value, modes[i]))
				if (lifecycle(&s, modes[i]) == 2)
					return 2;
	}
	printf("%d passed, %d failed\n", s.passed, s.failed);
	return s.failed ? 1 : 0;
}
