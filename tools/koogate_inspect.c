/* SPDX-License-Identifier: ISC */
/* koogate: inspecting instances and tenants, and the provisioning hand-off. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "koogate.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "ck.h"
#include "db.h"

int cmd_instances(int argc, char **argv)
{
	static const char *const states[] = { "pending", "active", "frozen", "released", NULL };
	struct opt o[] = { { "status", true, NULL, false }, { "order", true, NULL, false },
	                   { "test", false, NULL, false }, { "production", false, NULL, false },
	                   { "json", false, NULL, false }, { "limit", true, "100", false } };
	const char *p[4];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 6, NULL) || !opt_choice(&o[0], states) || !(db = connect_db()))
		return 2;
	p[0] = o[0].value;
	p[1] = o[1].value;
	p[2] = o[2].set ? "true" : o[3].set ? "false" : NULL;
	p[3] = o[5].value;
	res = exec_ok(db, o[4].set ?
		"SELECT json_agg(i ORDER BY created_at DESC) FROM (SELECT instance_id, generation, order_id,"
		" order_line_id, product_id, status, test_flag, expire_time, created_at FROM instance"
		" WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR order_id = $2)"
		"   AND ($3::boolean IS NULL OR test_flag = $3) ORDER BY created_at DESC LIMIT $4::int) i" :
		"SELECT instance_id, 'V' || generation AS gen, order_id, order_line_id, status,"
		" CASE WHEN test_flag THEN 'test' ELSE '' END AS test,"
		" COALESCE(to_char(expire_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') AS expires_utc"
		" FROM instance WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR order_id = $2)"
		"   AND ($3::boolean IS NULL OR test_flag = $3) ORDER BY created_at DESC LIMIT $4::int", 4, p);
	if (!res)
		return 1;
	print_rows(res, o[4].set);
	PQclear(res);
	return 0;
}

int cmd_instance(int argc, char **argv)
{
	struct opt o[] = { { "json", false, NULL, false } };
	const char *id = NULL, *p[1];
	PGconn *db;
	PGresult *res;

	if (argc >= 2 && strcmp(argv[1], "set-app-info") == 0)
		return cmd_set_app_info(argc - 1, argv + 1);
	if (!parse_opts(argc, argv, o, 1, &id) || !id) {
		fprintf(stderr, "usage: koogate instance ID [--json] | koogate instance set-app-info ID ...\n");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	p[0] = id;
	res = exec_ok(db,
		"SELECT json_build_object('instance', (SELECT to_jsonb(i) - 'app_password' - 'mobile_phone' - 'email'"
		"   FROM instance i WHERE instance_id = $1),"
		" 'orders', (SELECT json_agg(o ORDER BY at) FROM (SELECT order_id, order_line_id, kind, product_id,"
		"   sku_code, expire_time, at, fetch_state, fetch_attempts, fetch_error FROM instance_order"
		"   WHERE instance_id = $1) o),"
		" 'events', (SELECT json_agg(e ORDER BY id) FROM (SELECT id, at, kind, order_id, detail,"
		"   delivered_at FROM event WHERE instance_id = $1) e),"
		" 'calls', (SELECT json_agg(c ORDER BY at) FROM (SELECT at, program, activity, verdict, result_code,"
		"   duration_ms FROM inbound_call WHERE instance_id = $1 ORDER BY at DESC LIMIT 50) c))"
		" WHERE EXISTS (SELECT 1 FROM instance WHERE instance_id = $1)", 1, p);
	if (!res)
		return 1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		fprintf(stderr, "koogate: no instance %s\n", id);
		return 1;
	}
	if (o[0].set) {
		printf("%s\n", PQgetvalue(res, 0, 0));
	} else {
		/* plain text for people: the instance's fields grouped as one reads
		 * them (identity, state, order, app info, customer; anything else
		 * last), times in UTC saying so, then orders, events and calls. */
		PGresult *t;
		const char *q[1] = { PQgetvalue(res, 0, 0) };

		t = exec_ok(db,
			"WITH d AS (SELECT $1::jsonb AS j),"
			" g(s, grp) AS (VALUES (0, 'identity'), (1, 'state'), (2, 'order'), (3, 'app info'), (4, 'customer'), (5, 'other')),"
			" f(k, s, n) AS (VALUES ('instance_id', 0, 0), ('generation', 0, 1), ('test_flag', 0, 2), ('business_id', 0, 3),"
			"  ('order_id', 0, 4), ('order_line_id', 0, 5), ('product_id', 0, 6), ('sku_code', 0, 7),"
			"  ('status', 1, 0), ('expire_time', 1, 1), ('created_at', 1, 2), ('updated_at', 1, 3),"
			"  ('charging_mode', 2, 0), ('period_type', 2, 1), ('period_number', 2, 2), ('trial', 2, 3), ('amount', 2, 4),"
			"  ('extend_params', 2, 5), ('order_info', 2, 6),"
			"  ('app_front_end_url', 3, 0), ('app_admin_url', 3, 1), ('app_user_name', 3, 2), ('app_memo', 3, 3),"
			"  ('customer_id', 4, 0), ('customer_name', 4, 1), ('user_id', 4, 2), ('user_name', 4, 3)),"
			/* a timestamp field: shown in UTC, and says so */
			" fmt(k, v, t) AS (SELECT e.k, e.v, CASE WHEN (e.k LIKE '%\\_at' OR e.k LIKE '%\\_time') AND jsonb_typeof(e.v) = 'string'"
			"   THEN to_char((e.v #>> '{}')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"')"
			"   ELSE e.v #>> '{}' END FROM d, jsonb_each(j -> 'instance') AS e(k, v) WHERE e.v <> 'null'::jsonb),"
			" ts(v, t) AS (SELECT v, to_char((v)::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') FROM"
			"   (SELECT x ->> 'at' FROM d, jsonb_array_elements(COALESCE(j -> 'orders', '[]') || COALESCE(j -> 'events', '[]')"
			"    || COALESCE(j -> 'calls', '[]')) AS y(x)) z(v) GROUP BY v)"
			" SELECT line FROM ("
			"  SELECT g.s AS s, -1 AS n, '' AS k, CASE WHEN g.s > 0 THEN E'\\n' ELSE '' END || g.grp || ':' AS line FROM g"
			"   WHERE EXISTS (SELECT 1 FROM fmt LEFT JOIN f USING (k) WHERE COALESCE(f.s, 5) = g.s)"
			"  UNION ALL SELECT COALESCE(f.s, 5), COALESCE(f.n, 99), fmt.k, '  ' || rpad(fmt.k, 18) || ' ' || fmt.t"
			"   FROM fmt LEFT JOIN f USING (k)"
			"  UNION ALL SELECT 6, -1, '', E'\\norders:' FROM d WHERE j -> 'orders' <> 'null'::jsonb"
			"  UNION ALL SELECT 6, ordinality, '', '  ' || (SELECT t FROM ts WHERE ts.v = o ->> 'at') || '  ' || (o ->> 'kind') || ' '"
			"   || (o ->> 'order_id') || ' ' || (o ->> 'order_line_id') || '  fetch ' || (o ->> 'fetch_state')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'orders', '[]')) WITH ORDINALITY AS x(o, ordinality)"
			"  UNION ALL SELECT 7, -1, '', E'\\nevents:' FROM d WHERE j -> 'events' <> 'null'::jsonb"
			"  UNION ALL SELECT 7, ordinality, '', '  ' || (SELECT t FROM ts WHERE ts.v = e ->> 'at') || '  #' || (e ->> 'id') || ' '"
			"   || (e ->> 'kind') || ' ' || (e ->> 'detail')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'events', '[]')) WITH ORDINALITY AS x(e, ordinality)"
			"  UNION ALL SELECT 8, -1, '', E'\\ncalls:' FROM d WHERE j -> 'calls' <> 'null'::jsonb"
			"  UNION ALL SELECT 8, ordinality, '', '  ' || (SELECT t FROM ts WHERE ts.v = c ->> 'at') || '  '"
			"   || COALESCE(c ->> 'activity', '-') || ' ' || COALESCE(c ->> 'result_code', '-') || ' ' || (c ->> 'verdict')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'calls', '[]')) WITH ORDINALITY AS x(c, ordinality)"
			" ) lines ORDER BY s, n, k", 1, q);
		for (int r = 0; t && r < PQntuples(t); r++) {
			const char *line = PQgetvalue(t, r, 0);

			if (*line == '\n')              /* a group's blank line before its title */
				putchar(*line++);
			put_text(stdout, line);
			putchar('\n');
		}
		PQclear(t);
	}
	PQclear(res);
	return 0;
}

int cmd_set_app_info(int argc, char **argv)
{
	struct opt o[] = { { "front-end-url", true, NULL, false }, { "admin-url", true, NULL, false },
	                   { "user-name", true, NULL, false }, { "password-stdin", false, NULL, false },
	                   { "memo", true, NULL, false } };
	const char *id = NULL, *p[6];
	struct kbuf sealed = { 0 }, hex = { 0 };
	char password[256] = "";
	PGconn *db;
	PGresult *res;
	int rc = 1;

	if (!parse_opts(argc, argv, o, 5, &id) || !id || !o[0].value) {
		fprintf(stderr, "usage: koogate instance set-app-info ID --front-end-url URL [--admin-url URL]\n"
		                "       [--user-name NAME] [--password-stdin] [--memo TEXT]\n");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	if (o[3].set) {
		/* from stdin, so the password never shows in ps or shell history */
		if (!fgets(password, sizeof password, stdin)) {
			fprintf(stderr, "koogate: no password on standard input\n");
			return 2;
		}
		password[strcspn(password, "\r\n")] = '\0';
		if (strlen(password) > 31) {
			fprintf(stderr, "koogate: the password is at most 31 bytes (D17)\n");
			return 2;
		}
		kg_seal(kg_cfg.master_key, password, strlen(password), &sealed);
		kg_db_bytea_param(sealed.p, sealed.len, &hex);
		ck_memzero(password, sizeof password);
	}
	p[0] = id;
	p[1] = o[0].value;
	p[2] = o[1].value;
	p[3] = o[2].value;
	p[4] = hex.p;
	p[5] = o[4].value;
	if ((res = exec_ok(db, "SELECT koogate_set_app_info($1, $2, $3, $4, $5::bytea, $6)", 6, p))) {
		if (strcmp(PQgetvalue(res, 0, 0), "ok") == 0) {
			printf("instance %s: app info set\n", id);
			rc = 0;
		} else {
			fprintf(stderr, "koogate: no instance %s\n", id);
		}
		PQclear(res);
	}
	kbuf_free(&sealed);
	kbuf_free(&hex);
	return rc;
}


int cmd_tenants(int argc, char **argv)
{
	struct opt o[] = { { "instance", true, NULL, false }, { "json", false, NULL, false } };
	const char *p[1];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 2, NULL) || !(db = connect_db()))
		return 2;
	p[0] = o[0].value;
	res = exec_ok(db, o[1].set ?
		"SELECT json_agg(t ORDER BY updated_at DESC) FROM (SELECT t.instance_id, t.tenant_id, t.tenant_code,"
		" t.name, t.domain_name, t.test_flag, t.deleted_at, t.updated_at,"
		" (SELECT json_agg(json_build_object('appId', a.app_id, 'clientId', a.client_id, 'deleted', a.deleted_at IS NOT NULL))"
		"    FROM tenant_app a WHERE a.instance_id = t.instance_id AND a.tenant_id = t.tenant_id) AS apps,"
		" (SELECT count(*) FROM tenant_user u WHERE u.instance_id = t.instance_id AND u.tenant_id = t.tenant_id"
		"    AND u.state = 'granted') AS users,"
		" (SELECT count(*) FROM tenant_org g WHERE g.instance_id = t.instance_id AND g.tenant_id = t.tenant_id"
		"    AND g.deleted_at IS NULL) AS departments"
		" FROM tenant t WHERE $1::text IS NULL OR t.instance_id = $1) t" :
		"SELECT CASE WHEN t.instance_id = '' THEN '(seller)' ELSE t.instance_id END AS instance, t.tenant_id,"
		" t.tenant_code, t.name, t.domain_name,"
		" (SELECT string_agg(a.app_id, ',') FROM tenant_app a WHERE a.instance_id = t.instance_id"
		"    AND a.tenant_id = t.tenant_id AND a.deleted_at IS NULL) AS apps,"
		" (SELECT count(*) FROM tenant_user u WHERE u.instance_id = t.instance_id AND u.tenant_id = t.tenant_id"
		"    AND u.state = 'granted') AS users,"
		" (SELECT count(*) FROM tenant_org g WHERE g.instance_id = t.instance_id AND g.tenant_id = t.tenant_id"
		"    AND g.deleted_at IS NULL) AS depts,"
		" CASE WHEN t.deleted_at IS NOT NULL THEN 'deleted' WHEN t.test_flag THEN 'test' ELSE '' END AS state"
		" FROM tenant t WHERE $1::text IS NULL OR t.instance_id = $1 ORDER BY t.updated_at DESC", 1, p);
	if (!res)
		return 1;
	print_rows(res, o[1].set);
	PQclear(res);
	return 0;
}

/* Users or departments of one tenant, optionally of one instance. */
static int tenant_list(int argc, char **argv, bool users)
{
	struct opt o[] = { { "instance", true, NULL, false }, { "json", false, NULL, false },
	                   { "all", false, NULL, false } };
	const char *tenant = NULL, *p[3];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 3, &tenant) || !tenant) {
		fprintf(stderr, "usage: koogate %s TENANT_ID [--instance ID] [--all] [--json]\n", users ? "users" : "departments");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	p[0] = tenant;
	p[1] = o[0].value;
	p[2] = o[2].set ? "true" : "false";
	/* A tenant with no users lists (none); a tenant that is not there is an error. */
	if (!(res = exec_ok(db, "SELECT 1 FROM tenant WHERE tenant_id = $1 LIMIT 1", 1, p)))
		return 1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		fprintf(stderr, "koogate: no tenant %s (koogate tenants lists them, with their tenant_id)\n", tenant);
		return 1;
	}
	PQclear(res);
	if (users)
		res = exec_ok(db, o[1].set ?
			"SELECT json_agg(u ORDER BY user_name) FROM (SELECT instance_id, app_id, user_name, name, org_code,"
			" role, enabled, state, synced, position, employee_type, updated_at FROM tenant_user"
			" WHERE tenant_id = $1 AND ($2::text IS NULL OR instance_id = $2)"
			"   AND ($3::boolean OR state = 'granted')) u" :
			"SELECT user_name, name, role, CASE WHEN enabled THEN 'yes' ELSE 'no' END AS enabled, state,"
			" org_code, app_id, CASE WHEN instance_id = '' THEN '(seller)' ELSE instance_id END AS instance"
			" FROM tenant_user WHERE tenant_id = $1 AND ($2::text IS NULL OR instance_id = $2)"
			"   AND ($3::boolean OR state = 'granted') ORDER BY user_name", 3, p);
	else
		res = exec_ok(db, o[1].set ?
			"SELECT json_agg(g ORDER BY org_code) FROM (SELECT instance_id, org_code, org_name, parent_code,"
			" deleted_at, updated_at FROM tenant_org WHERE tenant_id = $1"
			" AND ($2::text IS NULL OR instance_id = $2) AND ($3::boolean OR deleted_at IS NULL)) g" :
			"SELECT org_code, org_name, parent_code, CASE WHEN deleted_at IS NULL THEN '' ELSE 'deleted' END AS state,"
			" CASE WHEN instance_id = '' THEN '(seller)' ELSE instance_id END AS instance"
			" FROM tenant_org WHERE tenant_id = $1 AND ($2::text IS NULL OR instance_id = $2)"
			"   AND ($3::boolean OR deleted_at IS NULL) ORDER BY parent_code, org_code", 3, p);
	if (!res)
		return 1;
	print_rows(res, o[1].set);
	PQclear(res);
	return 0;
}

int cmd_users(int argc, char **argv)
{
	return tenant_list(argc, argv, true);
}

int cmd_departments(int argc, char **argv)
{
	return tenant_list(argc, argv, false);
}

/* events [--undelivered] [--instance ID] [--json] | events replay ID */
int cmd_events(int argc, char **argv)
{
	struct opt o[] = { { "undelivered", false, NULL, false }, { "instance", true, NULL, false },
	                   { "json", false, NULL, false }, { "limit", true, "50", false } };
	const char *sub = NULL, *p[3];
	PGconn *db;
	PGresult *res;

	if (argc >= 3 && strcmp(argv[1], "replay") == 0) {
		if (!(db = connect_db()))
			return 2;
		p[0] = argv[2];
		/* delivered again by the worker, with the same idempotency key */
		res = exec_ok(db, "UPDATE event SET delivered_at = NULL, attempts = 0, last_error = NULL, skipped = NULL, next_at = now()"
		                  " WHERE id = $1::bigint RETURNING kind, COALESCE(instance_id, tenant_id, '')", 1, p);
		if (!res)
			return 1;
		if (PQntuples(res) == 0) {
			fprintf(stderr, "koogate: no event %s\n", argv[2]);
			PQclear(res);
			return 1;
		}
		printf("event %s (%s ", argv[2], PQgetvalue(res, 0, 0));
		put_text(stdout, PQgetvalue(res, 0, 1));     /* the instance id came from KooGallery */
		printf(") queued for the worker again\n");
		PQclear(res);
		return 0;
	}
	if (!parse_opts(argc, argv, o, 4, &sub) || sub || !(db = connect_db())) {
		if (sub)
			fprintf(stderr, "usage: koogate events [--undelivered] [--instance ID] [--json] | events replay ID\n");
		return 2;
	}
	p[0] = o[0].set ? "true" : "false";
	p[1] = o[1].value;
	p[2] = o[3].value;
	res = exec_ok(db, o[2].set ?
		"SELECT json_agg(e ORDER BY id DESC) FROM (SELECT id, at, kind, instance_id, tenant_id, order_id, test_flag,"
		" detail, delivered_at, skipped, attempts, last_error FROM event WHERE (NOT $1::boolean OR delivered_at IS NULL)"
		" AND ($2::text IS NULL OR instance_id = $2) ORDER BY id DESC LIMIT $3::int) e" :
		"SELECT id, to_char(at AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS at_utc, kind,"
		" COALESCE(instance_id, '') AS instance, CASE WHEN test_flag THEN 'test' ELSE '' END AS test,"
		" CASE WHEN skipped IS NOT NULL THEN 'skipped' WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'pending' END"
		" AS state, attempts,"
		" COALESCE(last_error, skipped, '') AS last_error FROM event WHERE (NOT $1::boolean OR delivered_at IS NULL)"
		" AND ($2::text IS NULL OR instance_id = $2) ORDER BY id DESC LIMIT $3::int", 3, p);
	if (!res)
		return 1;
	print_rows(res, o[2].set);
	PQclear(res);
	return 0;
}
