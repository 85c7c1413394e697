/* SPDX-License-Identifier: ISC */
/* metrics: the Prometheus text endpoint for monitoring (README,
 * "Monitoring"). Behind the same HTTP authentication as the status page
 * (apache-conf/). Call counters and latency come from inbound_call, which
 * every process of every web node writes, folded at scrape time into
 * call_total (sql/024): correct across processes and nodes, monotonic across
 * pruning, and nothing added to a call's own work. The backlogs are read
 * live. Without the database it still answers: koogate_database_up 0.
 *   GET /koogate/metrics */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "prom.h"
#include "response.h"

static struct kg_stmt q_fold = KG_STMT(metrics_fold, 0, "SELECT koogate_call_fold()");
/* One statement, one snapshot: the counters and the histograms agree. Rows
 * with histogram = 1 are the (program, activity) totals. */
static struct kg_stmt q_calls = KG_READ_STMT(metrics_calls, 0,
	"SELECT GROUPING(verdict) AS histogram, program, activity, verdict, result_code,"
	" CASE WHEN test_flag THEN '1' ELSE '0' END, probe, sum(calls), sum(ms) / 1000, koogate_array_sum(le),"
	" koogate_call_buckets()"
	" FROM koogate_call_counts()"
	" GROUP BY GROUPING SETS ((program, activity, verdict, result_code, test_flag, probe), (program, activity))"
	" ORDER BY 1, 2, 3, 4, 5, 6, 7");

/* Gauges: each statement's columns are the labels (named by the column),
 * then the value. */
struct gauge {
	const char     *name;
	const char     *help;
	struct kg_stmt  stmt;
};

#define OLDEST(tab, where) "SELECT COALESCE(extract(epoch FROM now() - min(at)), 0) FROM " tab " WHERE " where

static struct gauge gauges[] = {
	{ "koogate_instances", "Instances by status; test = 1 for debugging and dialing-test instances (D19).",
	  KG_READ_STMT(metrics_instances, 0, "SELECT status, CASE WHEN test_flag THEN '1' ELSE '0' END AS test, count(*)"
	                                     " FROM instance GROUP BY 1, 2 ORDER BY 1, 2") },
	{ "koogate_events_undelivered", "Events the provisioning worker (or the vendor's product) has not yet delivered.",
	  KG_READ_STMT(metrics_events, 0, "SELECT count(*) FROM event WHERE delivered_at IS NULL") },
	{ "koogate_events_oldest_undelivered_age_seconds", "Age of the oldest undelivered event (0: none).",
	  KG_READ_STMT(metrics_events_age, 0, OLDEST("event", "delivered_at IS NULL")) },
	{ "koogate_events_failing", "Undelivered events whose last delivery failed (last_error set).",
	  KG_READ_STMT(metrics_events_failing, 0,
	               "SELECT count(*) FROM event WHERE delivered_at IS NULL AND last_error IS NOT NULL") },
	{ "koogate_order_fetches_pending", "Orders whose Query Order details are still to be fetched.",
	  KG_READ_STMT(metrics_orders, 0, "SELECT count(*) FROM instance_order WHERE fetch_state = 'pending'") },
	{ "koogate_order_fetch_oldest_pending_age_seconds", "Age of the oldest order still to be fetched (0: none).",
	  KG_READ_STMT(metrics_orders_age, 0, OLDEST("instance_order", "fetch_state = 'pending'")) },
	{ "koogate_order_fetches_failed", "Orders whose Query Order retries ran out (order_fetch_hours).",
	  KG_READ_STMT(metrics_orders_failed, 0, "SELECT count(*) FROM instance_order WHERE fetch_state = 'failed'") },
	{ "koogate_usage_backlog_records", "Usage records not yet accepted by KooGallery: pending, or held (needs a person).",
	  KG_READ_STMT(metrics_usage, 0, "SELECT s AS state, (SELECT count(*) FROM usage_record u WHERE u.state = s)"
	                                 " FROM unnest('{held,pending}'::text[]) AS s") },
	{ "koogate_usage_oldest_pending_age_seconds",
	  "Time since the end of the oldest closed window whose usage is still to be pushed (0: none).",
	  KG_READ_STMT(metrics_usage_age, 0, "SELECT COALESCE(extract(epoch FROM now() - min(end_time)), 0)"
	                                     " FROM usage_record WHERE state = 'pending' AND end_time <= now()") },
};

/* A text array of numbers ({1,2.5,3}) into v; how many were read. */
static size_t numbers(const char *s, double *v, size_t max)
{
	size_t n = 0;
	char *end;

	while (*s && n < max) {
		if (*s == '{' || *s == ',' || *s == '}') {
			s++;
			continue;
		}
		v[n] = strtod(s, &end);
		if (end == s)
			break;
		n++;
		s = end;
	}
	return n;
}

#define BUCKETS_MAX 32

static void histogram(struct kbuf *b, PGresult *res, int r)
{
	double le[BUCKETS_MAX], bound[BUCKETS_MAX];
	size_t n = numbers(PQgetvalue(res, r, 10), bound, BUCKETS_MAX);
	char le_text[32];
	const char *l[6] = { "program", PQgetvalue(res, r, 1), "activity", PQgetvalue(res, r, 2), "le", le_text };

	if (numbers(PQgetvalue(res, r, 9), le, BUCKETS_MAX) != n)
		n = 0;          /* cannot happen: both come from koogate_call_buckets() */
	for (size_t i = 0; i < n; i++) {
		snprintf(le_text, sizeof le_text, "%g", bound[i] / 1000);
		kg_prom_sample(b, "koogate_call_duration_seconds_bucket", l, 3, le[i]);
	}
	snprintf(le_text, sizeof le_text, "+Inf");
	kg_prom_sample(b, "koogate_call_duration_seconds_bucket", l, 3, strtod(PQgetvalue(res, r, 7), NULL));
	kg_prom_sample(b, "koogate_call_duration_seconds_sum", l, 2, strtod(PQgetvalue(res, r, 8), NULL));
	kg_prom_sample(b, "koogate_call_duration_seconds_count", l, 2, strtod(PQgetvalue(res, r, 7), NULL));
}

static bool calls(struct kbuf *b)
{
	PGresult *res;
	int rows, r;

	if (!(res = kg_db_exec(NULL, &q_fold, NULL)))
		return false;
	PQclear(res);
	if (!(res = kg_db_exec(NULL, &q_calls, NULL)))
		return false;
	rows = PQntuples(res);
	kg_prom_family(b, "koogate_calls_total", "counter",
	               "Calls answered, by program, activity, verdict, resultCode (code, empty for HTTP faults),"
	               " test (1: testFlag, debugging and dialing tests) and probe (X-Koogate-Probe), on every web node.");
	for (r = 0; r < rows && !strcmp(PQgetvalue(res, r, 0), "0"); r++) {
		const char *l[] = { "program", PQgetvalue(res, r, 1), "activity", PQgetvalue(res, r, 2),
		                    "verdict", PQgetvalue(res, r, 3), "code", PQgetvalue(res, r, 4),
		                    "test", PQgetvalue(res, r, 5), "probe", PQgetvalue(res, r, 6) };
		kg_prom_sample(b, "koogate_calls_total", l, 6, strtod(PQgetvalue(res, r, 7), NULL));
	}
	kg_prom_family(b, "koogate_call_duration_seconds", "histogram",
	               "Time from accepting a call to its answer, by program and activity (calls counted per minute"
	               " by sql/013 are all placed in the bucket of their slowest).");
	for (; r < rows; r++)
		histogram(b, res, r);
	PQclear(res);
	return true;
}

static bool gauge(struct kbuf *b, struct gauge *g)
{
	PGresult *res = kg_db_exec(NULL, &g->stmt, NULL);
	int cols;

	if (!res)
		return false;
	cols = PQnfields(res);
	kg_prom_family(b, g->name, "gauge", g->help);
	for (int r = 0; r < PQntuples(res); r++) {
		const char *l[8];
		size_t n = 0;

		for (int c = 0; c + 1 < cols && n < 4; c++, n++) {
			l[2 * n] = PQfname(res, c);
			l[2 * n + 1] = PQgetvalue(res, r, c);
		}
		kg_prom_sample(b, g->name, l, n, strtod(PQgetvalue(res, r, cols - 1), NULL));
	}
	PQclear(res);
	return true;
}

static void serve(struct kg_ctx *c)
{
	struct kbuf b = { 0 }, db = { 0 };
	const char *version[] = { "version", KG_VERSION };
	bool up;

	c->activity = "metrics";
	if (strcmp(c->req.method, "GET") != 0) {
		kg_fault(c, 405, KG_V_BAD_METHOD);
		return;
	}
	kg_prom_family(&b, "koogate_build_info", "gauge", "The koogate version serving this endpoint (always 1).");
	kg_prom_sample(&b, "koogate_build_info", version, 1, 1);
	/* All of the database's part or none of it: a scrape never shows half. */
	up = kg_db_ready() && calls(&db);
	for (size_t i = 0; up && i < sizeof gauges / sizeof *gauges; i++)
		up = gauge(&db, &gauges[i]);
	kg_prom_family(&b, "koogate_database_up", "gauge",
	               "1 when PostgreSQL answered every query of this scrape, 0 otherwise (the other koogate_ metrics"
	               " are then left out).");
	kg_prom_sample(&b, "koogate_database_up", NULL, 0, up);
	if (up)
		kbuf_put(&b, db.p, db.len);
	else
		c->verdict = KG_V_DB_ERROR;
	kg_respond_with(&c->req, 200, KG_PROM_CONTENT_TYPE, NULL, NULL, b.p, b.len);
	kbuf_free(&db);
	kbuf_free(&b);
}

int main(void)
{
	static const struct kg_program prog = { .name = "metrics", .serve = serve };
	return kg_main(&prog);
}
