/* SPDX-License-Identifier: ISC */
/* status: a read-only page for the on-call person — instances by state,
 * tenants, the last inbound calls with their verdicts, failing events and the
 * usage backlog. Access is restricted by the web server (HTTP authentication
 * in apache-conf/); every value is escaped at output; no secrets are read.
 *   GET /koogate/status */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "response.h"

struct section {
	const char      *id;
	const char      *title;
	struct kg_stmt  *stmt;
	const char      *empty;
};

static struct kg_stmt q_states = KG_STMT(status_states, 0,
	"SELECT status, count(*) FILTER (WHERE NOT test_flag) AS production, count(*) FILTER (WHERE test_flag) AS test"
	" FROM instance GROUP BY status ORDER BY status");
static struct kg_stmt q_tenants = KG_STMT(status_tenants, 0,
	"SELECT t.tenant_code, t.name, CASE WHEN t.instance_id = '' THEN '(seller)' ELSE t.instance_id END AS instance,"
	" (SELECT count(*) FROM tenant_user u WHERE u.instance_id = t.instance_id AND u.tenant_id = t.tenant_id"
	"   AND u.state = 'granted') AS users,"
	" (SELECT count(*) FROM tenant_org g WHERE g.instance_id = t.instance_id AND g.tenant_id = t.tenant_id"
	"   AND g.deleted_at IS NULL) AS departments,"
	" to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS updated_utc"
	" FROM tenant t WHERE t.deleted_at IS NULL ORDER BY t.updated_at DESC LIMIT 50");
static struct kg_stmt q_calls = KG_STMT(status_calls, 0,
	"SELECT to_char(at AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS at_utc, program, COALESCE(activity, '') AS activity,"
	" http_status AS http, COALESCE(result_code, '') AS result, verdict, round(duration_ms::numeric, 1) AS ms,"
	" COALESCE(instance_id, '') AS instance, COALESCE(remote_addr, '') AS remote, calls"
	" FROM inbound_call ORDER BY id DESC LIMIT 30");
static struct kg_stmt q_events = KG_STMT(status_events, 0,
	"SELECT id, kind, COALESCE(instance_id, '') AS instance, attempts, COALESCE(last_error, '') AS last_error,"
	" to_char(next_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS next_try_utc"
	" FROM event WHERE delivered_at IS NULL AND last_error IS NOT NULL ORDER BY id LIMIT 50");
static struct kg_stmt q_usage = KG_STMT(status_usage, 0,
	"SELECT state, count(*) AS records, COALESCE(trim_scale(sum(usage_value))::text, '0') AS total,"
	" COALESCE(to_char(min(begin_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') AS oldest_window_utc,"
	" CASE WHEN state = 'held' THEN 'needs a person: KooGallery refused the push configuration (usage_key, AK/SK,"
	" permissions); fix it, or koogate usage requeue' ELSE '' END AS attention"
	" FROM usage_record GROUP BY state ORDER BY state");

static const struct section sections[] = {
	{ "instances", "Instances by state", &q_states, "No instances yet." },
	{ "calls", "Last inbound calls", &q_calls, "No calls yet." },
	{ "events", "Failing events", &q_events, "No failing events." },
	{ "usage", "Usage backlog", &q_usage, "No usage recorded." },
	{ "tenants", "Tenants", &q_tenants, "No tenants bound." },
};

static void table(struct kbuf *b, const struct section *s)
{
	PGresult *res = kg_db_exec(NULL, s->stmt, NULL);
	int rows, cols;

	kbuf_printf(b, "<section id=\"%s\"><h2>", s->id);
	kbuf_put_html(b, s->title);
	kbuf_puts(b, "</h2>\n");
	if (!res) {
		kbuf_puts(b, "<p class=\"error\">The database did not answer.</p></section>\n");
		return;
	}
	rows = PQntuples(res);
	cols = PQnfields(res);
	if (rows == 0) {
		kbuf_puts(b, "<p>");
		kbuf_put_html(b, s->empty);
		kbuf_puts(b, "</p>");
	} else {
		kbuf_puts(b, "<table><thead><tr>");
		for (int c = 0; c < cols; c++) {
			kbuf_puts(b, "<th>");
			kbuf_put_html(b, PQfname(res, c));
			kbuf_puts(b, "</th>");
		}
		kbuf_puts(b, "</tr></thead><tbody>\n");
		for (int r = 0; r < rows; r++) {
			const char *cls = "";
			for (int c = 0; c < cols; c++)
				if ((!strcmp(PQfname(res, c), "result") && *PQgetvalue(res, r, c) &&
				     strcmp(PQgetvalue(res, r, c), "000000")) ||
				    (!strcmp(PQfname(res, c), "http") && strcmp(PQgetvalue(res, r, c), "200")) ||
				    (!strcmp(PQfname(res, c), "attention") && *PQgetvalue(res, r, c)))
					cls = " class=\"bad\"";
			kbuf_printf(b, "<tr%s>", cls);
			for (int c = 0; c < cols; c++) {
				kbuf_puts(b, "<td>");
				kbuf_put_html(b, PQgetvalue(res, r, c));
				kbuf_puts(b, "</td>");
			}
			kbuf_puts(b, "</tr>\n");
		}
		kbuf_puts(b, "</tbody></table>");
	}
	kbuf_puts(b, "</section>\n");
	PQclear(res);
}

static void serve(struct kg_ctx *c)
{
	struct kbuf b = { 0 };

	c->activity = "status";
	if (strcmp(c->req.method, "GET") != 0) {
		kg_respond_status(&c->req, 405);
		return;
	}
	kbuf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>koogate status</title>\n"
	              "<meta name=\"viewport\" content=\"width=device-width\">\n<style>"
	              "body{font-family:sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
	              "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
	              "font-size:.9em}th{background:#f3f3f3}tr.bad td{background:#fde8e8}.error{color:#b00}"
	              "</style></head>\n<body>\n<h1>koogate status</h1>\n");
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		table(&b, &sections[i]);
	kbuf_puts(&b, "</body></html>\n");
	kg_respond_with(&c->req, 200, "text/html; charset=utf-8",
	                "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'\r\n"
	                "X-Frame-Options: DENY\r\n", NULL, b.p, b.len);
	kbuf_free(&b);
}

int main(void)
{
	static const struct kg_program prog = { .name = "status", .serve = serve };
	return kg_main(&prog);
}
