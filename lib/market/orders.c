/* SPDX-License-Identifier: ISC */
#include "orders.h"
#include "clock.h"
#include "apig.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "log.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUERY_ORDER_PATH "/api/mkp-openapi-public/global/v1/order/query"
#define FETCH_TIMEOUT_MS 4000L

static struct kg_stmt q_claim = KG_STMT(order_claim, 1,
	/* a lease: the row is pushed out of reach for five minutes while we work */
	"UPDATE instance_order SET fetch_next_at = now() + interval '5 minutes',"
	"       fetch_attempts = fetch_attempts + 1"
	" WHERE ctid = (SELECT ctid FROM instance_order"
	"                WHERE fetch_state = 'pending' AND fetch_next_at <= now()"
	"                ORDER BY fetch_next_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" RETURNING instance_id, order_id, order_line_id, kind, fetch_attempts,"
	"           at < now() - make_interval(hours => $1::int)");
static struct kg_stmt q_fetched = KG_STMT(order_fetched, 7,
	"SELECT koogate_order_fetched($1, $2, $3, $4, $5::jsonb, $6::bytea, $7::bytea)");
static struct kg_stmt q_retry = KG_STMT(order_retry, 7,
	"UPDATE instance_order SET fetch_error = $5,"
	"       fetch_state = CASE WHEN $6::boolean THEN 'failed' ELSE 'pending' END,"
	"       fetch_next_at = now() + make_interval(secs => $7::int)"
	" WHERE instance_id = $1 AND order_id = $2 AND order_line_id = $3 AND kind = $4");

bool kg_orders_configured(void)
{
	return *kg_cfg.apig_ak && *kg_cfg.apig_sk && *kg_cfg.mkt_url;
}

static enum kg_fetch call(const char *base, const char *order_id, const char *line,
                          struct kg_http_response *resp)
{
	struct kg_params q = { 0 };
	struct kbuf url = { 0 }, auth = { 0 }, hauth = { 0 }, hhost = { 0 }, hdate = { 0 };
	char host[256], date[17];
	bool ok;

	if (!kg_url_host(base, host, sizeof host)) {
		snprintf(resp->error, sizeof resp->error, "mkt_url is not a URL");
		return KG_FETCH_PERMANENT;
	}
	kg_apig_date(date);
	kbuf_printf(&url, "%s%s?orderId=", base, QUERY_ORDER_PATH);
	kg_uri_encode(order_id, strlen(order_id), &url);
	q.v = (struct kg_param[2]){
		{ "orderId", (char *)order_id, strlen(order_id) },
		{ "orderLineId", (char *)line, strlen(line) },
	};
	q.n = *line ? 2 : 1;
	if (*line) {
		kbuf_puts(&url, "&orderLineId=");
		kg_uri_encode(line, strlen(line), &url);
	}
	struct kg_header signed_headers[] = {
		{ "Content-Type", "application/json" }, { "Host", host }, { "X-Sdk-Date", date },
	};
	kg_apig_sign(kg_cfg.apig_ak, kg_cfg.apig_sk, "GET", QUERY_ORDER_PATH, &q, signed_headers, 3,
	             NULL, 0, &auth, NULL);
	kbuf_printf(&hauth, "Authorization: %s", auth.p);
	kbuf_printf(&hhost, "Host: %s", host);
	kbuf_printf(&hdate, "X-Sdk-Date: %s", date);
	const char *headers[] = { "Content-Type: application/json", hhost.p, hdate.p, hauth.p,
	                          "Accept: application/json", NULL };
	ok = kg_http("GET", url.p, headers, NULL, 0, FETCH_TIMEOUT_MS, resp);
	kbuf_free(&url);
	kbuf_free(&auth);
	kbuf_free(&hauth);
	kbuf_free(&hhost);
	kbuf_free(&hdate);
	return ok ? KG_FETCH_OK : KG_FETCH_RETRY;
}

static bool code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

enum kg_fetch kg_query_order(const char *order_id, const char *order_line_id,
                             struct kbuf *out, char *why, size_t whylen)
{
	/* MKT.0150/0151/0154 are AK/SK or permission problems: never hammer the
	 * gateway with them (IAM AK/SK lock after 5 failures); a person fixes the
	 * credentials and runs `koogate orders fetch --retry-failed`. */
	static const char *const retry_codes[] = { "MKT.0250", "MKT.0999", NULL };
	static const char *const credential_codes[] = { "MKT.0150", "MKT.0151", "MKT.0154", NULL };
	struct kg_http_response resp;
	json_object *j = NULL, *code = NULL, *info = NULL;
	enum kg_fetch f;

	f = call(kg_cfg.mkt_url, order_id, order_line_id, &resp);
	if (f == KG_FETCH_RETRY && resp.connect_failed && *kg_cfg.mkt_fallback_url) {
		/* The APIG signature covers Host, so the fallback call is signed anew. */
		kg_log("Query Order: %s unreachable (%s); trying %s", kg_cfg.mkt_url, resp.error,
		       kg_cfg.mkt_fallback_url);
		kg_http_response_free(&resp);
		f = call(kg_cfg.mkt_fallback_url, order_id, order_line_id, &resp);
	}
	if (f != KG_FETCH_OK) {
		snprintf(why, whylen, "transport: %s", resp.error);
		goto done;
	}
	j = json_tokener_parse(resp.body.p ? resp.body.p : "");
	if (j)
		json_object_object_get_ex(j, "resultCode", &code);
	if (!code)
		json_object_object_get_ex(j, "error_code", &code);
	const char *c = code ? json_object_get_string(code) : "";
	if (resp.status == 200 && strcmp(c, "MKT.0000") == 0 &&
	    json_object_object_get_ex(j, "orderInfo", &info) && json_object_is_type(info, json_type_object)) {
		kbuf_put(out, resp.body.p, resp.body.len);
		f = KG_FETCH_OK;
	} else {
		snprintf(why, whylen, "HTTP %ld, code %s", resp.status, *c ? c : "(none)");
		f = resp.status >= 500 || resp.status == 0 || code_in(c, retry_codes) ? KG_FETCH_RETRY
		                                                                     : KG_FETCH_PERMANENT;
		if (code_in(c, credential_codes))
			kg_log("Query Order refused the AK/SK (%s): check apig_ak/apig_sk and the account's permissions, "
			       "then run koogate orders fetch --retry-failed", c);
	}
done:
	json_object_put(j);
	kg_http_response_free(&resp);
	return f;
}

/* Buyer contact data leaves the stored JSON and is sealed instead. */
static void take_contact(json_object *buyer, const char *name, struct kbuf *sealed_hex)
{
	json_object *v;

	if (!buyer || !json_object_object_get_ex(buyer, name, &v) || !v)
		return;
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
		struct kbuf sealed = { 0 };

		kg_seal(kg_cfg.master_key, json_object_get_string(v), (size_t)json_object_get_string_len(v), &sealed);
		kg_db_bytea_param(sealed.p, sealed.len, sealed_hex);
		kbuf_free(&sealed);
	}
	json_object_object_add(buyer, name, json_object_new_string("(sealed)"));
}

static bool apply(const char *const *key, const struct kbuf *body)
{
	json_object *j = json_tokener_parse(body->p), *buyer = NULL;
	struct kbuf mobile = { 0 }, email = { 0 };
	long n;

	if (!j)
		return false;
	if (json_object_object_get_ex(json_object_object_get(j, "orderInfo"), "buyerInfo", &buyer) &&
	    json_object_is_type(buyer, json_type_object)) {
		take_contact(buyer, "mobilePhone", &mobile);
		take_contact(buyer, "email", &email);
	}
	const char *p[7] = { key[0], key[1], key[2], key[3],
	                     json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), mobile.p, email.p };
	n = kg_db_run(NULL, &q_fetched, p);
	json_object_put(j);
	kbuf_free(&mobile);
	kbuf_free(&email);
	return n >= 0;
}

static long backoff_s(int attempts)
{
	long s = 30L << (attempts > 7 ? 7 : attempts - 1);
	unsigned char r;

	kg_random(&r, 1);
	return (s > 3600 ? 3600 : s) + r % 16;    /* jitter spreads synchronized retries */
}

int kg_orders_fetch_due(int max, long budget_ms)
{
	double end = kg_mono_ms() + (double)budget_ms;
	char hours[16];
	int done = 0;

	if (!kg_orders_configured())
		return 0;
	snprintf(hours, sizeof hours, "%d", kg_cfg.order_fetch_hours);
	while (done < max && kg_mono_ms() < end) {
		const char *cp[1] = { hours };
		PGresult *res = kg_db_exec(NULL, &q_claim, cp);
		struct kbuf body = { 0 };
		char why[300] = "", delay[16];
		enum kg_fetch f;

		if (!res)
			return -1;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		const char *key[4] = { PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		                       PQgetvalue(res, 0, 3) };
		int attempts = atoi(PQgetvalue(res, 0, 4));
		bool expired = strcmp(PQgetvalue(res, 0, 5), "t") == 0;

		f = kg_query_order(key[1], key[2], &body, why, sizeof why);
		if (f == KG_FETCH_OK && !apply(key, &body)) {
			f = KG_FETCH_RETRY;
			snprintf(why, sizeof why, "the answer could not be applied");
		}
		if (f != KG_FETCH_OK) {
			bool give_up = f == KG_FETCH_PERMANENT || expired;
			const char *p[7] = { key[0], key[1], key[2], key[3], why, give_up ? "true" : "false", delay };

			snprintf(delay, sizeof delay, "%ld", backoff_s(attempts));
			(void)kg_db_run(NULL, &q_retry, p);
			kg_log("Query Order %s/%s (%s) attempt %d: %s%s", key[1], key[2], key[3], attempts, why,
			       give_up ? "; given up" : "; will retry");
		} else {
			kg_log("Query Order %s/%s (%s) applied to instance %s", key[1], key[2], key[3], key[0]);
		}
		kbuf_free(&body);
		PQclear(res);
		done++;
	}
	return done;
}
