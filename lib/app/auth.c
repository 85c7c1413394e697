/* SPDX-License-Identifier: ISC */
#include "auth.h"
#include "app.h"
#include "canon.h"
#include "ck.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "nonce.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct kg_keyring *family_keys(const struct kg_ctx *c)
{
	return c->prog->family == KG_SCHEME_KIT ? &kg_cfg.kit_keys : &kg_cfg.basic_keys;
}

/* Freshness (D2): |now - ts| within the window, ts in epoch milliseconds. */
static bool fresh_ms(const char *ts, int window_s, bool *parsed)
{
	int64_t t;

	*parsed = ck_parse_i64(ts, &t);
	if (!*parsed)
		return false;
	double d = kg_now_ms() - (double)t;
	return d <= window_s * 1000.0 && d >= -window_s * 1000.0;
}

/* V1 timeStamp, UTC yyyyMMddHHmmssSSS: within max_age seconds of now. */
static bool v1_fresh(const char *ts, int max_age, int utc_offset_h, bool *parsed)
{
	struct tm tm = { 0 };
	time_t t;
	double d;

	*parsed = ck_digits(ts, 17) &&
	          sscanf(ts, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6;
	if (!*parsed)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) - utc_offset_h * 3600;
	d = kg_now_ms() / 1000.0 - (double)t;
	return d <= max_age && d >= -max_age;
}

/* The V1 age limit (D5), shared by basic (UTC) and Kit (UTC+8). */
static enum kg_result v1_age(struct kg_ctx *c, const char *ts, int utc_offset_h)
{
	bool parsed;

	if (kg_cfg.v1_max_age <= 0 || v1_fresh(ts, kg_cfg.v1_max_age, utc_offset_h, &parsed))
		return KG_OK;
	return parsed ? kg_refuse(c, KG_EAUTH, KG_V_STALE, "timeStamp too old")
	              : kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "timeStamp malformed");
}

/* The body, parsed once (canon.h); the error as a refusal. */
static enum kg_result parse_body(struct kg_ctx *c, struct kg_jdoc **doc)
{
	enum kg_canon_err ce = kg_jdoc_parse(c->req.body.p, c->req.body.len, doc);

	return ce == KG_CANON_OK ? KG_OK : kg_refuse(c, KG_EPARAM, KG_V_BAD_JSON, "%s", kg_canon_error(ce));
}

/* Shared by the basic and Kit V2 schemes: freshness, signature, body, nonce.
 * The raw body is tried first (one HMAC, no parse): a sender that signs the
 * bytes it sends, sorted or not, is verified before any parsing. Otherwise
 * the canonical form needs the parse, bounded by canon.h's limits (D1). */
static enum kg_result auth_v2(struct kg_ctx *c, enum kg_scheme scheme, const char *sig,
                              const char *ts, const char *nonce)
{
	const char *body = c->req.body.p ? c->req.body.p : "";
	size_t len = c->req.body.len;
	struct kbuf canon = { 0 };
	struct kg_jdoc *doc;
	enum kg_result r;
	bool parsed;
	int k;

	if (!ts || !*ts)
		return kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "timestamp missing");
	if (!nonce || !*nonce)
		return kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "nonce missing");
	if (strlen(nonce) > KG_NONCE_MAX)
		return kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "nonce too long");
	if (!sig || !*sig)
		return kg_refuse(c, KG_EAUTH, KG_V_BAD_SIGNATURE, "signature missing");
	if (!fresh_ms(ts, kg_cfg.v2_window, &parsed))
		return parsed ? kg_refuse(c, KG_EAUTH, KG_V_STALE, "timestamp outside the window")
		              : kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "timestamp is not a number");
	k = kg_verify_v2(scheme, family_keys(c), nonce, ts, sig, NULL, 0, body, len, &c->form);
	if ((r = parse_body(c, &doc)) != KG_OK)
		return r;
	kg_jdoc_canon(doc, &canon);
	if (k < 0)
		k = kg_verify_v2(scheme, family_keys(c), nonce, ts, sig, canon.p, canon.len, NULL, 0, &c->form);
	else if (canon.len == len && memcmp(canon.p, body, len) == 0)
		c->form = KG_SIGFORM_CANONICAL;     /* both forms are the same text: name the first (D1) */
	kbuf_free(&canon);
	if (k < 0) {
		kg_jdoc_free(doc);
		return kg_refuse(c, KG_EAUTH, KG_V_BAD_SIGNATURE, "signature does not verify");
	}
	c->key_index = k;
	c->json = kg_jdoc_json(doc);
	kg_jdoc_free(doc);
	kg_nonce_claim(c, nonce, ts);
	return KG_OK;
}

enum kg_result kg_auth_v2_basic(struct kg_ctx *c)
{
	struct kg_params q = { 0 };
	enum kg_result r;

	if (!kg_params_parse(&q, c->req.query, strlen(c->req.query), KG_URL_FORM))
		r = kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "query string is malformed");
	else
		r = auth_v2(c, KG_SCHEME_BASIC, kg_params_get(&q, "signature"),
		            kg_params_get(&q, "timestamp"), kg_params_get(&q, "nonce"));
	kg_params_free(&q);
	return r;
}

enum kg_result kg_auth_kit_v2(struct kg_ctx *c)
{
	return auth_v2(c, KG_SCHEME_KIT, kg_req_header(&c->req, "x-sign"),
	               kg_req_header(&c->req, "x-timestamp"), kg_req_header(&c->req, "x-nonce"));
}

/* A V1 token (Base64, spaces turned back) over one candidate string. */
static int verify_v1(const struct kg_ctx *c, const char *ts, const char *token, const struct kbuf *text)
{
	struct kbuf tok = { 0 };
	int k;

	kg_b64_unspace(token, &tok);
	k = kg_verify_v1(family_keys(c), ts, text->p ? text->p : "", text->len, tok.p);
	kbuf_free(&tok);
	return k;
}

/* V1 basic: the query form-decoded (what the handler reads), then
 * percent-decoded only (D42); each candidate with its own timeStamp and
 * authToken. */
enum kg_result kg_auth_v1_basic(struct kg_ctx *c)
{
	static const struct { enum kg_urldecode mode; enum kg_sigform form; } forms[] = {
		{ KG_URL_FORM, KG_SIGFORM_CANONICAL },
		{ KG_URL_PERCENT, KG_SIGFORM_PERCENT },
	};
	struct kg_params ps = { 0 };
	const char *ts, *tok;
	enum kg_result r;
	int k = -1;

	if (!kg_params_parse(&ps, c->req.query, strlen(c->req.query), KG_URL_FORM)) {
		kg_params_free(&ps);
		return kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "query string is malformed");
	}
	ts = kg_params_get(&ps, "timeStamp");
	tok = kg_params_get(&ps, "authToken");
	r = !ts || !*ts ? kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "timeStamp missing") :
	    !tok || !*tok ? kg_refuse(c, KG_EAUTH, KG_V_BAD_SIGNATURE, "authToken missing") :
	    v1_age(c, ts, 0);
	for (size_t m = 0; r == KG_OK && k < 0 && m < sizeof forms / sizeof *forms; m++) {
		struct kbuf joined = { 0 };

		if (m > 0) {
			kg_params_free(&ps);
			if (!kg_params_parse(&ps, c->req.query, strlen(c->req.query), forms[m].mode))
				continue;
		}
		ts = kg_params_get(&ps, "timeStamp");
		tok = kg_params_get(&ps, "authToken");
		if (!ts || !tok)
			continue;
		kg_v1_joined(&ps, &joined);
		k = verify_v1(c, ts, tok, &joined);
		kbuf_free(&joined);
		if (k >= 0) {
			c->form = forms[m].form;
			c->params = ps;     /* the handler reads the values of the form that verified */
			ps = (struct kg_params){ 0 };
		}
	}
	kg_params_free(&ps);
	if (r != KG_OK)
		return r;
	if (k < 0)
		return kg_refuse(c, KG_EAUTH, KG_V_BAD_SIGNATURE, "authToken does not verify");
	c->key_index = k;
	return KG_OK;
}

/* V1 Kit (D13): the token over the body's members as k=v, three ways, all
 * from the one parse. */
enum kg_result kg_auth_kit_v1(struct kg_ctx *c)
{
	static const struct { enum kg_kv_variant v; enum kg_sigform form; } variants[] = {
		{ KG_KV_SORTED, KG_SIGFORM_CANONICAL },
		{ KG_KV_SORTED_FORMDECODED, KG_SIGFORM_FORMDECODED },
		{ KG_KV_RECEIVED, KG_SIGFORM_RECEIVED },
	};
	const char *token = kg_req_header(&c->req, "authToken");
	struct kbuf ts = { 0 }, kv = { 0 };
	struct kg_jdoc *doc;
	enum kg_result r;
	int k = -1;

	if ((r = parse_body(c, &doc)) != KG_OK)
		return r;
	r = !kg_jdoc_member(doc, "timeStamp", &ts) || !*ts.p ?
	        kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "timeStamp missing") :
	    !token || !*token ? kg_refuse(c, KG_EAUTH, KG_V_BAD_SIGNATURE, "authToken missing") :
	    v1_age(c, ts.p, 8);     /* V1 Kit timeStamp is China time, UTC+8 (D5). */
	for (size_t v = 0; r == KG_OK && k < 0 && v < sizeof variants / sizeof *variants; v++) {
		kbuf_reset(&kv);
		kg_jdoc_kv(doc, variants[v].v, &kv);
		if ((k = verify_v1(c, ts.p, token, &kv)) >= 0)
			c->form = variants[v].form;
	}
	kbuf_free(&kv);
	kbuf_free(&ts);
	if (r == KG_OK && k < 0)
		r = kg_refuse(c, KG_EAUTH, KG_V_BAD_SIGNATURE, "authToken does not verify");
	if (r == KG_OK) {
		c->key_index = k;
		c->json = kg_jdoc_json(doc);
	}
	kg_jdoc_free(doc);
	return r;
}
