/* SPDX-License-Identifier: ISC */
#include "audit.h"
#include "app.h"
#include "clock.h"
#include "codec.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/* The nonce claim, with the audit rows of earlier calls (sql/010) and the
 * announcement of the events this process wrote (sql/025), as one statement
 * of plain SQL (sql/027): $1 family, $2 nonce (NULL: the rows and the
 * announcement alone, for an idle process), $3 TTL in seconds, $4 the rows
 * (JSON, or NULL), $5 the signed timestamp, which lets the claim refuse what
 * a database crash or failover may have made it forget (sql/012, sql/022).
 * It runs as the database prelude: with the handler's first statement, or
 * alone. Alone it commits without waiting for the WAL flush: a lost claim
 * costs at most a request the replay floor refuses. Its in-write form shares
 * the transaction of the handler's first write and refuses by an error,
 * which rolls that write back (lib/io/db.h, sql/026). */
#define BOOKKEEPING_SQL(answer) \
	"WITH calls AS (" \
	"  INSERT INTO inbound_call (at, program, activity, verdict, http_status, result_code, duration_ms," \
	"    instance_id, order_id, remote_addr, probe, test_flag)" \
	"  SELECT to_timestamp(r.at), r.program, r.activity, r.verdict, r.http_status, r.result_code," \
	"         r.duration_ms, r.instance_id, r.order_id, r.remote_addr, r.probe, COALESCE(r.test, false)" \
	"  FROM json_to_recordset($4::json) AS r(at double precision, program text, activity text," \
	"       verdict text, http_status smallint, result_code text, duration_ms real," \
	"       instance_id text, order_id text, remote_addr text, probe text, test boolean)" \
	"), claim AS (" \
	"  INSERT INTO nonce AS n (family, nonce, expires_at)" \
	"  SELECT $1::text, $2::text, now() + make_interval(secs => $3::integer) WHERE $2 IS NOT NULL" \
	"  ON CONFLICT (family, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at" \
	"    WHERE n.expires_at < now()" \
	"  RETURNING true" \
	") SELECT " answer ", koogate_announce_due($2 IS NULL)"
#define CLAIM_FRESH \
	"EXISTS (SELECT FROM claim) AND koogate_claim_in_time($5::bigint, $3::integer)"
struct kg_stmt kg_bookkeeping = KG_STMT(bookkeeping, 5, BOOKKEEPING_SQL(
	"CASE WHEN $2 IS NOT NULL THEN " CLAIM_FRESH " END, set_config('synchronous_commit', 'off', true)"));
struct kg_stmt kg_bookkeeping_in_write = KG_STMT(bookkeeping_in_write, 5, BOOKKEEPING_SQL(
	"CASE WHEN " CLAIM_FRESH " THEN true ELSE koogate_claim_refused() END"));

#define CALLS_MAX      64
#define CALLS_MAX_AGE  1000.0   /* ms */
/* A claim carries the rows only from this many on: what an insert costs is
 * mostly per statement, not per row (pgbench: the claim alone 0.09-0.13 ms
 * of PostgreSQL CPU, with one row 0.17-0.20). An idle process writes what it
 * has after KG_AUDIT_IDLE_MS, and an old queue is written at once. */
#define CALLS_BATCH    16
static struct {
	struct kbuf json;       /* "[{...},{...}", closed with "]" while a call carries them */
	unsigned    n;
	double      oldest_ms;
} calls;

static bool calls_closed(void)
{
	return calls.json.len && calls.json.p[calls.json.len - 1] == ']';
}

const char *kg_audit_rows(void)
{
	if (!calls.n)
		return NULL;
	if (!calls_closed())
		kbuf_putc(&calls.json, ']');
	return calls.json.p;
}

const char *kg_audit_batch(void)
{
	return calls.n >= CALLS_BATCH ? kg_audit_rows() : NULL;
}

static void calls_written(void)
{
	kbuf_reset(&calls.json);
	calls.n = 0;
}

void kg_audit_carried(void)
{
	if (calls_closed())
		calls_written();
}

unsigned kg_audit_pending(void)
{
	return calls.n;
}

/* Non-UTF-8 bytes (a truncated or hostile id) become '?': the row must be valid JSON text. */
static void put_call_field(const char *name, const char *v)
{
	struct kbuf *b = &calls.json;
	size_t n;

	kbuf_printf(b, ",\"%s\":", name);
	if (!v) {
		kbuf_puts(b, "null");
		return;
	}
	n = strlen(v);
	if (kg_utf8_valid(v, n)) {
		kbuf_put_jstr(b, v, n);
		return;
	}
	char clean[256];

	n = n < sizeof clean ? n : sizeof clean - 1;
	for (size_t i = 0; i < n; i++)
		clean[i] = (unsigned char)v[i] >= 0x80 ? '?' : v[i];
	kbuf_put_jstr(b, clean, n);
}

void kg_audit_flush(bool always)
{
	const char *p[5] = { NULL, NULL, NULL, kg_audit_rows(), NULL };
	PGresult *res;

	if (!p[3] && !always)
		return;
	if ((res = kg_db_exec(NULL, &kg_bookkeeping, p))) {
		PQclear(res);
		calls_written();
	} else if (calls.n >= 4 * CALLS_MAX) {
		kg_log("audit: %u rows could not be written and are dropped", calls.n);
		calls_written();
	}
}

void kg_audit_add(const struct kg_ctx *c, double ms)
{
	struct kbuf *b = &calls.json;

	if (calls_closed())     /* a call that failed carried them: reopen */
		b->p[--b->len] = '\0';
	if (!calls.n) {
		kbuf_reset(b);
		kbuf_putc(b, '[');
		calls.oldest_ms = kg_mono_ms();
	} else {
		kbuf_putc(b, ',');
	}
	kbuf_printf(b, "{\"at\":%.3f,\"http_status\":%d,\"duration_ms\":%.3f",
	            kg_now_ms() / 1e3, c->req.status, ms);
	put_call_field("program", c->prog->name);
	put_call_field("activity", c->activity);
	put_call_field("verdict", kg_verdict_name(c->verdict));
	put_call_field("result_code", c->req.status == 200 ? kg_result_code(c->result) : NULL);
	put_call_field("instance_id", c->instance_id[0] ? c->instance_id : NULL);
	put_call_field("order_id", c->order_id[0] ? c->order_id : NULL);
	put_call_field("remote_addr", c->req.remote_addr);
	put_call_field("probe", c->req.probe[0] ? c->req.probe : NULL);
	if (c->test)            /* debugging and dialing-test traffic (D19; sql/024) */
		kbuf_puts(b, ",\"test\":true");
	kbuf_putc(b, '}');
	if (++calls.n >= CALLS_MAX || kg_mono_ms() - calls.oldest_ms >= CALLS_MAX_AGE)
		kg_audit_flush(false);
}
