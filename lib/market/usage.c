/* SPDX-License-Identifier: ISC */
#include "usage.h"
#include "apig.h"
#include "canon.h"
#include "codec.h"
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
#include <unistd.h>

#define PUSH_ATTEMPTS 6

static struct kg_stmt q_expire = KG_STMT(usage_expire, 0,
	"UPDATE usage_record SET state = 'expired', updated_at = now(),"
	" last_error = 'window begins more than 21 days ago; KooGallery refuses it (MKT.9004)'"
	" WHERE state IN ('pending', 'held') AND begin_time < now() - interval '21 days'"   /* held ones can no longer be sent either */
	" RETURNING instance_id, begin_time");
static struct kg_stmt q_batch = KG_STMT(usage_batch, 1,
	"SELECT u.id, u.instance_id, to_char(u.begin_time AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'),"
	"  to_char(u.end_time AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'),"
	"  to_char(u.created_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'),"
	"  trim_scale(u.usage_value)::text, u.relate_pkg_instance, u.metering_sn, i.product_id"
	" FROM usage_record u JOIN instance i USING (instance_id)"
	" WHERE u.state = 'pending' AND u.next_at <= now() AND u.end_time <= now()"   /* closed windows only (D40) */
	" ORDER BY u.id LIMIT $1::int"
	" FOR UPDATE OF u SKIP LOCKED");
static struct kg_stmt q_done = KG_STMT(usage_done, 5,
	"UPDATE usage_record SET state = $2, attempts = attempts + 1, last_error = $3, updated_at = now(),"
	"  held_config = $5,"
	"  pushed_at = CASE WHEN $2 = 'sent' THEN now() END,"
	"  next_at = now() + make_interval(secs => $4::int)"
	" WHERE id = ANY ($1::bigint[])");
static struct kg_stmt q_left = KG_STMT(usage_left, 0,
	"SELECT count(*) FILTER (WHERE state = 'pending' AND end_time <= now()),"
	" count(*) FILTER (WHERE state = 'pending' AND end_time > now()), count(*) FILTER (WHERE state = 'held')"
	" FROM usage_record WHERE state IN ('pending', 'held')");
/* Held records back to pending: all of them ($1 NULL), or those held under
 * another push configuration than $1; $2: of one instance only. */
static struct kg_stmt q_requeue = KG_STMT(usage_requeue, 2,
	"UPDATE usage_record SET state = 'pending', next_at = now(), held_config = NULL, updated_at = now()"
	" WHERE state = 'held' AND ($1::text IS NULL OR held_config IS DISTINCT FROM $1)"
	"   AND ($2::text IS NULL OR instance_id = $2)");

/* HELD: refused for the vendor's configuration (key, AK/SK, permission), not
 * for the records: kept for a person and sent again once it changes. */
enum outcome { SENT, RETRY, HELD, PERMANENT };

struct batch {
	int   n;
	char *id[KG_USAGE_BATCH];
	json_object *rec[KG_USAGE_BATCH];
};

void kg_usage_signature(const char *key, const char *ts, const char *nonce, const char *body, size_t n,
                        struct kbuf *out)
{
	struct kbuf msg = { 0 };
	unsigned char mac[KG_SHA256_LEN];

	kbuf_printf(&msg, "ts=%s&nonce=%s&body=", ts, nonce);
	kbuf_put(&msg, body, n);
	kg_hmac_sha256(key, strlen(key), msg.p, msg.len, mac);
	kg_b64_put(out, mac, sizeof mac);
	kbuf_free(&msg);
}

static const char *push_key(void)
{
	return *kg_cfg.usage_key ? kg_cfg.usage_key : kg_cfg.basic_keys.keys[0];
}

static bool old_api(void)
{
	return strcmp(kg_cfg.usage_api, "old") == 0;
}

static void url_for(bool fallback, struct kbuf *out)
{
	if (!fallback && *kg_cfg.usage_url)
		kbuf_puts(out, kg_cfg.usage_url);
	else if (fallback && *kg_cfg.usage_fallback_url)
		kbuf_puts(out, kg_cfg.usage_fallback_url);
	else if (!old_api())
		kbuf_printf(out, "%s%s", fallback ? kg_cfg.mkt_fallback_url : kg_cfg.mkt_url, KG_USAGE_PATH);
}

/* The body, compact with every key sorted (D35), exactly the bytes signed. */
static void body_of(json_object **recs, int n, struct kbuf *body)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array_ext(n);
	size_t len;
	const char *text;

	for (int i = 0; i < n; i++)
		json_object_array_add(arr, json_object_get(recs[i]));
	json_object_object_add(o, "usage_records", arr);
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	kg_canon_json_deep(text, len, body);
	json_object_put(o);
}

/* What an answer means for the batch (usage-and-open-api.md §2.4, §2.5.6, §5;
 * security.md §9 for the API Gateway's own AK/SK refusals). */
static enum outcome outcome_of(long status, const char *code)
{
	static const struct { const char *code; enum outcome o; } codes[] = {
		{ "MKT.0000", SENT }, { "000000", SENT }, { "0", SENT },
		{ "MKT.0250", RETRY },
		{ "MKT.0150", HELD }, { "MKT.0151", HELD }, { "MKT.0154", HELD },
		{ "APIG.0301", HELD }, { "APIG.0303", HELD }, { "APIGW.0301", HELD }, { "APIGW.0303", HELD },
		{ "MKT.0100", PERMANENT }, { "MKT.0101", PERMANENT }, { "MKT.0199", PERMANENT },
		{ "MKT.9001", PERMANENT }, { "MKT.9002", PERMANENT }, { "MKT.9003", PERMANENT },
		{ "MKT.9004", PERMANENT }, { "MKT.9005", PERMANENT },
	};
	bool ok = status >= 200 && status < 300, success = !*code;

	for (size_t i = 0; i < sizeof codes / sizeof *codes && !success; i++)
		if (strcmp(code, codes[i].code) == 0) {
			if (codes[i].o != SENT)
				return codes[i].o;
			success = true;
		}
	if (ok && success)
		return SENT;
	/* No code that says more: the HTTP status does (401/403 is authentication). */
	return status == 401 || status == 403 ? HELD : status >= 400 && status < 500 ? PERMANENT : RETRY;
}

/* A fingerprint of everything the gateway authenticates a push by: held
 * records are sent again once it changes. 64 bits of a SHA-256, so the stored
 * value gives nothing away about the keys. */
static void config_fingerprint(char out[17])
{
	struct kbuf b = { 0 }, u = { 0 }, f = { 0 };
	unsigned char d[KG_SHA256_LEN];

	url_for(false, &u);
	url_for(true, &f);
	kbuf_printf(&b, "usage-config\n%s\n%s\n%d\n%s\n%s\n%s\n%s", kg_cfg.usage_api, push_key(),
	            kg_cfg.usage_apig, kg_cfg.apig_ak, kg_cfg.apig_sk, u.p ? u.p : "", f.p ? f.p : "");
	kg_sha256(b.p, b.len, d);
	kg_hex(d, 8, out);
	kbuf_free(&b);
	kbuf_free(&u);
	kbuf_free(&f);
}

/* One HTTP attempt, with the fallback host when the primary could not be
 * reached (the request never left). A request that went out and got no answer
 * in time may have been processed: it is retried on the same host, with
 * back-off, never sent to the fallback at once (§2.5.6-7). */
static enum outcome attempt(const struct kbuf *body, char *why, size_t whylen)
{
	enum outcome o = RETRY;

	for (int fb = 0; fb < 2; fb++) {
		struct kbuf url = { 0 }, sig = { 0 }, h1 = { 0 }, h2 = { 0 }, h3 = { 0 }, h4 = { 0 }, h5 = { 0 }, auth = { 0 };
		struct kg_http_response resp;
		char ts[24], nonce[33], host[256] = "", date[17];
		const char *headers[8];
		int nh = 0;

		url_for(fb == 1, &url);
		if (!url.p || !kg_url_host(url.p, host, sizeof host)) {
			snprintf(why, whylen, "no usage URL configured%s", old_api() ? " (usage_url is required for the old API, D38)" : "");
			kbuf_free(&url);
			return PERMANENT;
		}
		headers[nh++] = "Content-Type: application/json";
		if (!old_api()) {
			snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) * 1000LL);
			kg_random_chars(nonce, 32, "0123456789abcdef");
			kg_usage_signature(push_key(), ts, nonce, body->p, body->len, &sig);
			kbuf_printf(&h1, "ts: %s", ts);
			kbuf_printf(&h2, "nonce: %s", nonce);
			kbuf_printf(&h3, "signature: %s", sig.p);
			headers[nh++] = h1.p;
			headers[nh++] = h2.p;
			headers[nh++] = h3.p;
		}
		if (old_api() || kg_cfg.usage_apig) {
			/* Host is signed, so each host gets its own signature. */
			const char *path = strstr(url.p + 8, "/");
			struct kg_header sh[] = { { "Content-Type", "application/json" }, { "Host", host },
			                          { "X-Sdk-Date", date } };
			kg_apig_date(date);
			kg_apig_sign(kg_cfg.apig_ak, kg_cfg.apig_sk, "POST", path ? path : "/", NULL, sh, 3,
			             body->p, body->len, &auth, NULL);
			kbuf_printf(&h4, "X-Sdk-Date: %s", date);
			kbuf_printf(&h5, "Authorization: %s", auth.p);
			headers[nh++] = h4.p;
			headers[nh++] = h5.p;
		}
		struct kbuf hh = { 0 };
		kbuf_printf(&hh, "Host: %s", host);
		headers[nh++] = hh.p;
		headers[nh] = NULL;
		bool got = kg_http("POST", url.p, headers, body->p, body->len, kg_cfg.usage_timeout * 1000L, &resp);
		if (got) {
			json_object *j = resp.body.p ? json_tokener_parse(resp.body.p) : NULL, *c = NULL;
			const char *code = "";

			if (j && (json_object_object_get_ex(j, "error_code", &c) || json_object_object_get_ex(j, "resultCode", &c)) && c)
				code = json_object_get_string(c);
			/* D37: the raw answer is always logged */
			kg_log("usage push to %s: HTTP %ld %.300s", host, resp.status, resp.body.p ? resp.body.p : "");
			o = outcome_of(resp.status, code);
			if (o != SENT)
				snprintf(why, whylen, "HTTP %ld %s", resp.status, *code ? code : "(no code)");
			json_object_put(j);
		} else {
			snprintf(why, whylen, "%.100s: %.150s", host, resp.error);
			if (resp.timed_out && !resp.connect_failed)
				kg_log("usage push: %s took the request but gave no answer within %d s; retrying there with back-off",
				       host, kg_cfg.usage_timeout);
		}
		bool try_fallback = !got && resp.connect_failed && fb == 0;
		if (try_fallback)
			kg_log("usage push: %s unreachable (%s); trying the fallback host", host, resp.error);
		kg_http_response_free(&resp);
		kbuf_free(&url);
		kbuf_free(&sig);
		kbuf_free(&h1);
		kbuf_free(&h2);
		kbuf_free(&h3);
		kbuf_free(&h4);
		kbuf_free(&h5);
		kbuf_free(&hh);
		kbuf_free(&auth);
		if (!try_fallback)
			break;
	}
	return o;
}

/* Retries with back-off: 1 s doubling, capped at 60 s, with jitter (§2.5). */
static enum outcome send_with_retries(const struct kbuf *body, char *why, size_t whylen)
{
	enum outcome o = RETRY;
	unsigned delay_ms = 1000;

	for (int i = 0; i < PUSH_ATTEMPTS; i++) {
		if ((o = attempt(body, why, whylen)) != RETRY)
			return o;
		if (i + 1 < PUSH_ATTEMPTS) {
			unsigned char r;
			kg_random(&r, 1);
			usleep((delay_ms + (unsigned)r * delay_ms / 1024) * 1000);
			delay_ms = delay_ms * 2 > 60000 ? 60000 : delay_ms * 2;
		}
	}
	return o;
}

static bool mark(char *const *ids, int n, const char *state, const char *err, int retry_s, const char *held_config)
{
	struct kbuf arr = { 0 };
	char delay[16];
	bool ok;

	snprintf(delay, sizeof delay, "%d", retry_s);
	kg_db_text_array((const char *const *)ids, (size_t)n, &arr);
	const char *p[5] = { arr.p, state, err, delay, held_config };
	ok = kg_db_run(NULL, &q_done, p) >= 0;
	kbuf_free(&arr);
	return ok;
}

static bool push_batch(struct batch *b, struct kg_push_stats *st)
{
	struct kbuf body = { 0 };
	char why[300] = "";
	enum outcome o;
	bool ok = true;

	body_of(b->rec, b->n, &body);
	o = send_with_retries(&body, why, sizeof why);
	st->sent += b->n;
	if (o == SENT) {
		ok = mark(b->id, b->n, "sent", NULL, 0, NULL);
		st->accepted += b->n;
	} else if (o == RETRY) {
		kg_log("usage push: %d records deferred: %s", b->n, why);
		ok = mark(b->id, b->n, "pending", why, 300, NULL);
		st->deferred += b->n;
	} else if (o == HELD) {
		/* The whole batch: the refusal is about the configuration, not a record. */
		char fp[17];

		config_fingerprint(fp);
		kg_log("usage push: %d records held for a person: the gateway refused the push configuration (%s);"
		       " fix usage_key (or apig_ak/apig_sk, the app's permissions), then push again, or run koogate usage requeue",
		       b->n, why);
		ok = mark(b->id, b->n, "held", why, 0, fp);
		st->held += b->n;
	} else if (b->n == 1) {
		kg_log("usage push: record %s rejected: %s", b->id[0], why);
		ok = mark(b->id, 1, "rejected", why, 0, NULL);
		st->rejected++;
	} else {
		/* A permanent refusal of a batch: resend one by one to find the faulty records. */
		kg_log("usage push: batch of %d refused (%s); resending one by one", b->n, why);
		st->sent -= b->n;
		for (int i = 0; i < b->n && ok; i++) {
			struct batch one = { 1, { b->id[i] }, { b->rec[i] } };
			ok = push_batch(&one, st);
		}
	}
	kbuf_free(&body);
	return ok;
}

static json_object *record_json(PGresult *res, int r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "instance_id", json_object_new_string(PQgetvalue(res, r, 1)));
	json_object_object_add(o, "begin_time", json_object_new_string(PQgetvalue(res, r, 2)));
	json_object_object_add(o, "end_time", json_object_new_string(PQgetvalue(res, r, 3)));
	json_object_object_add(o, "record_time", json_object_new_string(PQgetvalue(res, r, 4)));
	json_object_object_add(o, "usage_value", json_object_new_string(PQgetvalue(res, r, 5)));
	if (!PQgetisnull(res, r, 6))
		json_object_object_add(o, "relate_pkg_instance", json_object_new_string(PQgetvalue(res, r, 6)));
	if (old_api())
		json_object_object_add(o, "product_id", json_object_new_string(PQgetvalue(res, r, 8)));
	else
		json_object_object_add(o, "metering_sn", json_object_new_string(PQgetvalue(res, r, 7)));
	return o;
}

bool kg_usage_push(long max, bool progress, struct kg_push_stats *st)
{
	PGresult *res;

	memset(st, 0, sizeof *st);
	if ((st->requeued = kg_usage_requeue(false, NULL)) < 0)
		return false;
	if (st->requeued)
		kg_log("usage push: %ld held records queued again: the push configuration changed", st->requeued);
	if ((res = kg_db_exec(NULL, &q_expire, NULL))) {
		for (int r = 0; r < PQntuples(res); r++)
			kg_log("usage: instance %s window %s is more than 21 days old; refused locally (MKT.9004)",
			       PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
		st->expired = PQntuples(res);
		PQclear(res);
	}
	while (st->sent < max) {
		struct batch b = { 0 };
		char limit[24];
		bool ok;

		snprintf(limit, sizeof limit, "%ld", max - st->sent < KG_USAGE_BATCH ? max - st->sent : KG_USAGE_BATCH);
		/* The batch stays locked until it is marked: a second pusher skips it. */
		if (!kg_db_begin(NULL))
			return false;
		const char *p[1] = { limit };
		if (!(res = kg_db_exec(NULL, &q_batch, p))) {
			kg_db_rollback();
			return false;
		}
		b.n = PQntuples(res);
		if (b.n == 0) {
			PQclear(res);
			kg_db_rollback();
			break;
		}
		for (int r = 0; r < b.n; r++) {
			b.id[r] = PQgetvalue(res, r, 0);
			b.rec[r] = record_json(res, r);
		}
		ok = push_batch(&b, st) && kg_db_commit(NULL);
		for (int r = 0; r < b.n; r++)
			json_object_put(b.rec[r]);
		PQclear(res);
		st->batches++;
		if (!ok) {
			kg_db_rollback();
			return false;
		}
		if (progress)
			printf("batch %ld: %d records (accepted %ld, rejected %ld, deferred %ld so far)\n",
			       st->batches, b.n, st->accepted, st->rejected, st->deferred);
		if (st->deferred || st->held)
			break;          /* the marketplace is not taking records now: stop this run */
	}
	return true;
}

bool kg_usage_left(struct kg_usage_backlog *b)
{
	PGresult *res = kg_db_exec(NULL, &q_left, NULL);

	if (!res)
		return false;
	b->due = atol(PQgetvalue(res, 0, 0));
	b->open = atol(PQgetvalue(res, 0, 1));
	b->held = atol(PQgetvalue(res, 0, 2));
	PQclear(res);
	return true;
}

long kg_usage_requeue(bool all, const char *instance)
{
	char fp[17];
	const char *p[2] = { NULL, instance };

	if (!all) {
		config_fingerprint(fp);
		p[0] = fp;
	}
	return kg_db_run(NULL, &q_requeue, p);
}
