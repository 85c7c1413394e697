/* SPDX-License-Identifier: ISC */
/* status: the page an on-call person opens first. An overall verdict (green,
 * amber, red, with the reasons: sql/023 koogate_health), the time it was
 * taken, then calls (failed, refused and probes apart), undelivered events,
 * order fetches, the usage backlog and tenants; every instance links to its
 * own view (orders, events, calls). It refreshes itself (meta refresh) and
 * needs no script. Access is restricted by the web server (HTTP
 * authentication in apache-conf/); every value is escaped at output; no
 * secrets are read.
 *   GET /koogate/status
 *   GET /koogate/status?instance=ID */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apig.h"
#include "app.h"
#include "config.h"
#include "db.h"
#include "fields.h"
#include "page.h"
#include "response.h"

#define REFRESH_S   60
#define RECENT_MIN  15      /* calls count towards the verdict for this long */
#define STR_(x)     #x
#define STR(x)      STR_(x)

/* Column names are what the page shows. A name starting with '_' is not
 * shown: "_class" is the row's class (failed, refused, probe). Cells of the
 * "Instance" column link to that instance's view. */
struct section {
	const char      *id;
	const char      *title;
	const char      *note;      /* a sentence under the title, or NULL */
	struct kg_stmt  *stmt;
	struct kg_stmt  *summary;   /* one text cell shown above the table, or NULL */
	const char      *empty;
};

#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
#define CALLS "SELECT " UTC("at") " AS \"When (UTC)\", program AS \"Program\", COALESCE(activity, '') AS \"Activity\"," \
	" http_status AS \"HTTP\", COALESCE(result_code, '') AS \"Result\", verdict AS \"Verdict\"," \
	" round(duration_ms::numeric, 1) || ' ms' AS \"Took\", COALESCE(instance_id, '') AS \"Instance\"," \
	" COALESCE(remote_addr, '') AS \"From\", COALESCE(probe, '') AS \"Probe\", calls AS \"Calls\"," \
	" koogate_call_kind(verdict, http_status, result_code, probe) AS _class," \
	" EXISTS (SELECT 1 FROM instance i WHERE i.instance_id = inbound_call.instance_id) AS _known FROM inbound_call"
/* Lists of one kind look back a day: the `at` index bounds the scan (about
 * 120 ms for a week of 100,000 calls with none of the kind, 6 s apart). */
#define CALLS_OF(kind) CALLS " WHERE at > now() - interval '24 hours'" \
	" AND koogate_call_kind(verdict, http_status, result_code, probe) = '" kind "' ORDER BY at DESC, id DESC LIMIT 20"

static struct kg_stmt q_health = KG_STMT(status_health, 1, "SELECT level, area, reason FROM koogate_health($1::int)");
static struct kg_stmt q_tenant_count = KG_STMT(status_tenant_count, 0,
	"SELECT count(*) FROM tenant WHERE deleted_at IS NULL");
static struct kg_stmt q_states = KG_STMT(status_states, 0,
	"SELECT status AS \"State\", count(*) FILTER (WHERE NOT test_flag) AS \"Production\","
	" count(*) FILTER (WHERE test_flag) AS \"Test\" FROM instance GROUP BY status ORDER BY status");
static struct kg_stmt q_calls = KG_STMT(status_calls, 0, CALLS " ORDER BY at DESC, id DESC LIMIT 30");
static struct kg_stmt q_failed = KG_STMT(status_failed, 0, CALLS_OF("failed"));
static struct kg_stmt q_refused = KG_STMT(status_refused, 0, CALLS_OF("refused"));
static struct kg_stmt q_probes = KG_STMT(status_probes, 0, CALLS_OF("probe"));
static struct kg_stmt q_events_sum = KG_STMT(status_events_sum, 0,
	"SELECT count(*) || ' undelivered, ' || count(*) FILTER (WHERE last_error IS NOT NULL) || ' of them failing'"
	" || COALESCE('; the oldest written ' || " UTC("min(at)") " || ' UTC', '')"
	" FROM event WHERE delivered_at IS NULL");
static struct kg_stmt q_events = KG_STMT(status_events, 0,
	"SELECT id AS \"Event\", kind AS \"Kind\", COALESCE(instance_id, '') AS \"Instance\","
	" CASE WHEN last_error IS NULL THEN 'waiting' ELSE 'failing' END AS \"State\", attempts AS \"Attempts\","
	" " UTC("at") " AS \"Written (UTC)\", " UTC("next_at") " AS \"Next try (UTC)\","
	" COALESCE(last_error, '') AS \"Last error\", CASE WHEN last_error IS NULL THEN '' ELSE 'failed' END AS _class"
	" FROM event WHERE delivered_at IS NULL ORDER BY last_error IS NULL, id LIMIT 50");
static struct kg_stmt q_orders_sum = KG_STMT(status_orders_sum, 0,
	"SELECT count(*) FILTER (WHERE fetch_state = 'pending') || ' waiting'"
	" || COALESCE(' (the oldest ordered ' || " UTC("min(at) FILTER (WHERE fetch_state = 'pending')") " || ' UTC)', '')"
	" || ', ' || count(*) FILTER (WHERE fetch_state = 'failed') || ' given up'"
	" FROM instance_order WHERE fetch_state IN ('pending', 'failed')");
static struct kg_stmt q_orders = KG_STMT(status_orders, 0,
	"SELECT instance_id AS \"Instance\", order_id AS \"Order\", kind AS \"Kind\","
	" CASE fetch_state WHEN 'failed' THEN 'given up' ELSE 'waiting' END AS \"State\", fetch_attempts AS \"Attempts\","
	" " UTC("at") " AS \"Ordered (UTC)\", COALESCE(" UTC("fetch_next_at") ", '') AS \"Next try (UTC)\","
	" COALESCE(fetch_error, '') AS \"Last error\", CASE fetch_state WHEN 'failed' THEN 'failed' ELSE '' END AS _class"
	" FROM instance_order WHERE fetch_state IN ('pending', 'failed') ORDER BY fetch_state = 'pending', at DESC LIMIT 50");
static struct kg_stmt q_usage = KG_STMT(status_usage, 0,
	"SELECT state AS \"State\", count(*) AS \"Records\", COALESCE(trim_scale(sum(usage_value))::text, '0') AS \"Total\","
	" COALESCE(to_char(min(begin_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') AS \"Oldest window (UTC)\","
	" CASE WHEN state = 'held' THEN 'needs a person: KooGallery refused the push configuration (usage_key, AK/SK,"
	" permissions); fix it, or koogate usage requeue' ELSE '' END AS \"Attention\","
	" CASE WHEN state = 'held' THEN 'failed' WHEN state IN ('rejected', 'expired') THEN 'refused' ELSE '' END AS _class"
	" FROM usage_record GROUP BY state ORDER BY state");
static struct kg_stmt q_tenants = KG_STMT(status_tenants, 0,
	"SELECT t.tenant_code AS \"Tenant\", t.name AS \"Name\", t.instance_id AS \"Instance\","
	" (SELECT count(*) FROM tenant_user u WHERE u.instance_id = t.instance_id AND u.tenant_id = t.tenant_id"
	"   AND u.state = 'granted') AS \"Users\","
	" (SELECT count(*) FROM tenant_org g WHERE g.instance_id = t.instance_id AND g.tenant_id = t.tenant_id"
	"   AND g.deleted_at IS NULL) AS \"Departments\","
	" to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS \"Updated (UTC)\""
	" FROM tenant t WHERE t.deleted_at IS NULL ORDER BY t.updated_at DESC LIMIT 50");

static const struct section overview[] = {
	{ "calls", "Last inbound calls", NULL, &q_calls, NULL, "No calls yet." },
	{ "failed", "Failed calls", "This side did not do its job (database, internal error, identity service): "
	  "look at these first. The last 24 hours.", &q_failed, NULL, "No failed calls." },
	{ "refused", "Refused calls", "The caller's request was wrong (signature, timestamp, replay, parameters, "
	  "unknown ids, paths). A burst of bad signatures means a wrong key or clock. The last 24 hours.",
	  &q_refused, NULL, "No refused calls." },
	{ "probes", "Probe calls that did not succeed", "Marked with X-Koogate-Probe (koogate simulate, health "
	  "checks): they fail on purpose and are not faults. The last 24 hours.", &q_probes, NULL, "No probe calls failed." },
	{ "events", "Events not yet delivered", "Failing first: the worker's command failed and is retried.",
	  &q_events, &q_events_sum, "Every event is delivered." },
	{ "orders", "Order fetches", "Query Order calls still waiting, or given up after order_fetch_hours.",
	  &q_orders, &q_orders_sum, "No order fetch is waiting." },
	{ "usage", "Usage backlog", NULL, &q_usage, NULL, "No usage recorded." },
	{ "tenants", "Tenants", "Enterprises bound by the Kit interfaces.", &q_tenants, NULL, "No tenants bound." },
	{ "instances", "Instances by state", NULL, &q_states, NULL, "No instances yet." },
};

/* The instance view. */
static struct kg_stmt q_instance = KG_STMT(status_instance, 1,
	"SELECT status AS \"State\", CASE WHEN test_flag THEN 'test (testFlag 1)' ELSE 'production' END AS \"Traffic\","
	" 'V' || generation AS \"Protocol\", business_id AS \"Business id\", order_id AS \"Order\","
	" order_line_id AS \"Order line\", product_id AS \"Product\", COALESCE(sku_code, '') AS \"SKU\","
	" COALESCE(charging_mode, '') AS \"Charging mode\","
	" COALESCE(period_type || ' × ' || period_number, '') AS \"Period\","
	" COALESCE(" UTC("expire_time") " || ' UTC', '') AS \"Expires\", COALESCE(frozen_reason, '') AS \"Frozen because\","
	" COALESCE(customer_name, '') AS \"Customer\", COALESCE(app_front_end_url, '') AS \"Front-end URL\","
	" COALESCE(app_user_name, '') AS \"App user\", " UTC("created_at") " || ' UTC' AS \"Created\","
	" " UTC("updated_at") " || ' UTC' AS \"Updated\", COALESCE(" UTC("released_at") " || ' UTC', '') AS \"Released\""
	" FROM instance WHERE instance_id = $1");
static struct kg_stmt q_i_orders = KG_STMT(status_i_orders, 1,
	"SELECT " UTC("at") " AS \"Ordered (UTC)\", order_id AS \"Order\", order_line_id AS \"Line\", kind AS \"Kind\","
	" COALESCE(product_id, '') AS \"Product\", COALESCE(sku_code, '') AS \"SKU\", COALESCE(amount, '') AS \"Amount\","
	" COALESCE(" UTC("expire_time") ", '') AS \"Expires (UTC)\", fetch_state AS \"Order fetch\","
	" fetch_attempts AS \"Attempts\", COALESCE(fetch_error, '') AS \"Last error\","
	" CASE fetch_state WHEN 'failed' THEN 'failed' ELSE '' END AS _class"
	" FROM instance_order WHERE instance_id = $1 ORDER BY at DESC LIMIT 50");
static struct kg_stmt q_i_events = KG_STMT(status_i_events, 1,
	"SELECT id AS \"Event\", " UTC("at") " AS \"Written (UTC)\", kind AS \"Kind\","
	" CASE WHEN delivered_at IS NOT NULL THEN 'delivered ' || " UTC("delivered_at") " || ' UTC'"
	"      WHEN last_error IS NOT NULL THEN 'failing' ELSE 'waiting' END AS \"State\", attempts AS \"Attempts\","
	" COALESCE(last_error, skipped, '') AS \"Note\","
	" CASE WHEN delivered_at IS NULL AND last_error IS NOT NULL THEN 'failed' ELSE '' END AS _class"
	" FROM event WHERE instance_id = $1 ORDER BY id DESC LIMIT 50");
static struct kg_stmt q_i_calls = KG_STMT(status_i_calls, 1,
	CALLS " WHERE instance_id = $1 AND at > now() - interval '30 days' ORDER BY at DESC, id DESC LIMIT 50");

static const struct section instance_view[] = {
	{ "orders", "Orders", NULL, &q_i_orders, NULL, "No orders." },
	{ "events", "Events", "Newest first.", &q_i_events, NULL, "No events." },
	{ "calls", "Calls", "The last 30 days, newest first.", &q_i_calls, NULL, "No calls in the last 30 days." },
};

static const struct kg_field query_fields[] = {
	{ "instance", KG_F_REQUIRED, 64, NULL },
};

/* An instance id as KooGallery makes them: letters, digits, '-', '_', '.',
 * ':'. Anything else is never linked and never looked up. */
static bool instance_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("-_.:", *s)))
			return false;
	return true;
}

static void instance_link(struct kbuf *b, const char *id)
{
	struct kbuf href = { 0 };

	kbuf_puts(&href, "?instance=");
	kg_uri_encode(id, strlen(id), &href);
	kg_page_text(b, "<a href=\"", href.p, "\">");
	kg_page_text(b, "", id, "</a>");
	kbuf_free(&href);
}

static void rows(struct kbuf *b, PGresult *res)
{
	int nrows = PQntuples(res), cols = PQnfields(res), cls = PQfnumber(res, "_class");
	int known = PQfnumber(res, "_known");    /* calls may name ids that are no instance */

	kbuf_puts(b, "<div class=\"scroll\"><table class=\"rows\"><thead><tr>");
	for (int c = 0; c < cols; c++)
		if (PQfname(res, c)[0] != '_') {
			kg_page_text(b, "<th>", PQfname(res, c), "</th>");
		}
	kbuf_puts(b, "</tr></thead><tbody>\n");
	for (int r = 0; r < nrows; r++) {
		const char *k = cls >= 0 ? PQgetvalue(res, r, cls) : "";

		if (*k && strcmp(k, "ok") != 0) {
			kg_page_text(b, "<tr class=\"", k, "\">");
		} else {
			kbuf_puts(b, "<tr>");
		}
		for (int c = 0; c < cols; c++) {
			const char *name = PQfname(res, c), *v = PQgetvalue(res, r, c);

			if (name[0] == '_')
				continue;
			kg_page_text(b, "<td data-label=\"", name, "\">");
			if (strcmp(name, "Instance") == 0 && instance_id_ok(v) &&
			    (known < 0 || strcmp(PQgetvalue(res, r, known), "t") == 0))
				instance_link(b, v);
			else if (strcmp(name, "Instance") == 0 && !*v && PQfnumber(res, "Tenant") >= 0)
				kbuf_puts(b, "(seller)");
			else
				kbuf_put_html(b, v);
			kbuf_puts(b, "</td>");
		}
		kbuf_puts(b, "</tr>\n");
	}
	kbuf_puts(b, "</tbody></table></div>");
}

static void section(struct kbuf *b, const struct section *s, const char *param)
{
	const char *p[1] = { param };
	PGresult *res;

	kbuf_printf(b, "<section class=\"card\" id=\"%s\">", s->id);
	kg_page_text(b, "<h2>", s->title, "</h2>\n");
	if (s->note)
		kg_page_text(b, "<p class=\"note\">", s->note, "</p>\n");
	if (s->summary && (res = kg_db_exec(NULL, s->summary, NULL))) {
		if (PQntuples(res) == 1) {
			kg_page_text(b, "<p class=\"meta summary\">", PQgetvalue(res, 0, 0), "</p>\n");
		}
		PQclear(res);
	}
	if (!(res = kg_db_exec(NULL, s->stmt, param ? p : NULL))) {
		kbuf_puts(b, "<p class=\"error\">The database did not answer.</p></section>\n");
		return;
	}
	if (PQntuples(res) == 0) {
		kg_page_text(b, "<p>", s->empty, "</p>");
	} else {
		rows(b, res);
	}
	kbuf_puts(b, "</section>\n");
	PQclear(res);
}

/* Title, the time the page was taken (with its zone) and the refresh. */
static void header(struct kbuf *b, const char *title, bool overview_link)
{
	char now[32], iso[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S UTC", &tm);
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	kg_page_begin(b, title, "<meta http-equiv=\"refresh\" content=\"" STR(REFRESH_S) "\">\n");
	kg_page_text(b, "<header><h1>", title, "</h1>\n");
	kbuf_printf(b, "<p class=\"meta\">Taken <time id=\"taken\" datetime=\"%s\">%s</time>"
	               " &middot; refreshes every " STR(REFRESH_S) " s &middot; koogate " KG_VERSION "</p>\n", iso, now);
	if (overview_link)
		kbuf_puts(b, "<nav><a id=\"back\" href=\"status\">&larr; All of koogate</a></nav>\n");
	else
		kbuf_puts(b, "<nav><a href=\"#calls\">Calls</a><a href=\"#events\">Events</a><a href=\"#orders\">Orders</a>"
		             "<a href=\"#usage\">Usage</a><a href=\"#tenants\">Tenants</a>"
		             "<a href=\"#verdicts\">What the colours mean</a></nav>\n");
	kbuf_puts(b, "</header>\n<main>\n");
}

static void footer(struct kbuf *b)
{
	kbuf_puts(b, "</main>\n");
	kg_page_end(b);
}

static void respond(struct kg_ctx *c, int status, struct kbuf *b)
{
	kg_respond_with(&c->req, status, "text/html; charset=utf-8",
	                "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'\r\n"
	                "X-Frame-Options: DENY\r\nCache-Control: no-store\r\n", NULL, b->p, b->len);
}

/* The verdict line. False when the database did not answer (red). */
static bool health(struct kbuf *b)
{
	static const char *const area_title[][2] = {
		{ "calls", "Calls" }, { "events", "Events" }, { "orders", "Order fetches" },
		{ "usage", "Usage" },
	};
	const char *p[1] = { STR(RECENT_MIN) };
	const char *login = kg_config_login_problem(kg_cfg.login_mode);
	PGresult *res = kg_db_exec(NULL, &q_health, p), *tenants = NULL;
	const char *level = "green";
	int n = res ? PQntuples(res) : 0;
	bool login_matters = false;

	/* Login is expected to work once an enterprise is bound (joint operation). */
	if (res && login && (tenants = kg_db_exec(NULL, &q_tenant_count, NULL)))
		login_matters = strcmp(PQgetvalue(tenants, 0, 0), "0") != 0;
	PQclear(tenants);
	if (!res)
		level = "red";
	else if (n > 0)
		level = PQgetvalue(res, 0, 0);   /* worst first */
	else if (login_matters)
		level = "amber";
	kbuf_printf(b, "<section class=\"card health %s\" id=\"health\" data-level=\"%s\"><h2>", level, level);
	if (!res)
		kbuf_puts(b, "Red: the database did not answer");
	else if (strcmp(level, "red") == 0)
		kbuf_puts(b, "Red: a person is needed now");
	else if (strcmp(level, "amber") == 0)
		kbuf_puts(b, "Amber: look at this soon");
	else
		kbuf_puts(b, "Green: nothing needs a person");
	kbuf_puts(b, "</h2>\n");
	if (!res) {
		kbuf_puts(b, "<p>Every marketplace call is answered 000005 until it is back: check PostgreSQL and the "
		             "<code>db</code> setting.</p>");
	} else if (n == 0 && !login_matters) {
		kbuf_printf(b, "<p>No failing or late events, order fetches or usage pushes, and no failed calls in the last "
		               "%d minutes.</p>", RECENT_MIN);
	} else {
		kbuf_puts(b, "<ul>");
		for (int r = 0; r < n; r++) {
			const char *area = PQgetvalue(res, r, 1), *title = area;

			for (size_t i = 0; i < sizeof area_title / sizeof *area_title; i++)
				if (strcmp(area_title[i][0], area) == 0)
					title = area_title[i][1];
			kg_page_text(b, "<li class=\"", PQgetvalue(res, r, 0), "\"><a href=\"#");
			kg_page_text(b, "", area, "\">");
			kg_page_text(b, "", title, "</a>: ");
			kg_page_text(b, "", PQgetvalue(res, r, 2), "</li>");
		}
		if (login_matters) {
			kg_page_text(b, "<li class=\"amber\">Buyer login: it cannot start, ", login, "</li>");
		}
		kbuf_puts(b, "</ul>");
	}
	if (login && !login_matters) {
		kg_page_text(b, "<p class=\"note\" id=\"login-config\">Buyer login is not set up (", login, "); it matters once an enterprise is bound.</p>");
	}
	kbuf_puts(b, "<p class=\"note\"><a href=\"#verdicts\">What the colours mean</a></p></section>\n");
	if (!res)
		return false;
	PQclear(res);
	return true;
}

static void verdicts(struct kbuf *b)
{
	kbuf_printf(b, "<section class=\"card\" id=\"verdicts\"><h2>What the colours mean</h2><dl>"
		"<dt>Red</dt><dd>A person is needed now: events failing for over 30 minutes, calls that failed on this "
		"side in the last %d minutes, usage held because KooGallery refused the push configuration, or the "
		"database not answering.</dd>"
		"<dt>Amber</dt><dd>Look soon: events being retried or waiting over 10 minutes for a running worker, calls "
		"refused for a bad signature, timestamp or replay in the last %d minutes, order fetches given up or "
		"waiting over an hour, usage rejected, expired or not pushed an hour after its window closed, buyer "
		"login not configured while enterprises are bound.</dd>"
		"<dt>Green</dt><dd>None of these.</dd>"
		"<dt>Failed call</dt><dd>Verdict db-error, no-answer, error or upstream, HTTP 5xx, or result 000004/000005: "
		"this side did not do its job.</dd>"
		"<dt>Refused call</dt><dd>Any other unsuccessful call: bad-signature, stale (timestamp), replay (nonce), "
		"bad-request, bad-json, refused (the handler's resultCode says why, e.g. 000003 unknown instance), "
		"not-found, bad-method, too-large, no-session, unknown-tenant.</dd>"
		"<dt>Probe</dt><dd>A call marked X-Koogate-Probe (koogate simulate, health checks); its failures are "
		"expected.</dd></dl></section>\n", RECENT_MIN, RECENT_MIN);
}

static void serve_overview(struct kg_ctx *c)
{
	struct kbuf b = { 0 };
	bool db;

	header(&b, "koogate status", false);
	if ((db = health(&b)))
		for (size_t i = 0; i < sizeof overview / sizeof *overview; i++)
			section(&b, &overview[i], NULL);
	verdicts(&b);
	footer(&b);
	respond(c, db ? 200 : 503, &b);
	kbuf_free(&b);
}

static void page_fault(struct kg_ctx *c, int status, enum kg_verdict verdict, const char *title, const char *message)
{
	struct kbuf b = { 0 };

	c->verdict = verdict;
	kg_page_message(&b, &(struct kg_page_msg){ .title = title, .message = message,
	                                            .link = "status", .link_text = "The status page" });
	respond(c, status, &b);
	kbuf_free(&b);
}

static void serve_instance(struct kg_ctx *c, const char *id)
{
	const char *p[1] = { id };
	struct kbuf b = { 0 }, title = { 0 };
	PGresult *res;

	if (!(res = kg_db_exec(NULL, &q_instance, p))) {
		page_fault(c, 503, KG_V_DB_ERROR, "Database unavailable", "The database did not answer. Try again shortly.");
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		page_fault(c, 404, KG_V_NOT_FOUND, "Unknown instance", "No instance has this id.");
		return;
	}
	kg_note_ids(c, id, NULL);
	kbuf_printf(&title, "Instance %s", id);
	header(&b, title.p, true);
	kbuf_puts(&b, "<section class=\"card\" id=\"instance\"><h2>The instance</h2><dl>");
	for (int f = 0; f < PQnfields(res); f++) {
		kg_page_text(&b, "<dt>", PQfname(res, f), "</dt>");
		kg_page_text(&b, "<dd>", *PQgetvalue(res, 0, f) ? PQgetvalue(res, 0, f) : "-", "</dd>");
	}
	kbuf_puts(&b, "</dl></section>\n");
	PQclear(res);
	for (size_t i = 0; i < sizeof instance_view / sizeof *instance_view; i++)
		section(&b, &instance_view[i], id);
	footer(&b);
	respond(c, 200, &b);
	kbuf_free(&b);
	kbuf_free(&title);
}

static void serve(struct kg_ctx *c)
{
	struct kg_values v;
	char why[128];

	c->activity = "status";
	if (strcmp(c->req.method, "GET") != 0) {
		kg_fault(c, 405, KG_V_BAD_METHOD);
		return;
	}
	if (!*c->req.query) {
		serve_overview(c);
		return;
	}
	/* Only ?instance=ID, and only an id that can be one. */
	if (!kg_params_parse(&c->params, c->req.query, strlen(c->req.query), KG_URL_FORM) ||
	    c->params.n != 1 || !kg_fields_params(query_fields, KG_NFIELDS(query_fields), &c->params, &v, why, sizeof why) ||
	    !instance_id_ok(v.v[0])) {
		page_fault(c, 400, KG_V_BAD_REQUEST, "Not a status page address",
		           "The status page takes only ?instance= with an instance id (letters, digits, - _ . :, "
		           "at most 64).");
		return;
	}
	c->activity = "status-instance";
	serve_instance(c, v.v[0]);
}

int main(void)
{
	static const struct kg_program prog = { .name = "status", .serve = serve };
	return kg_main(&prog);
}
