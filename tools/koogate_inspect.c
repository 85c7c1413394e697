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
	struct opt o[] = { { "status", true, NULL, false }, { "order", true, NULL, false },
	                   { "test", false, NULL, false }, { "production", false, NULL, false },
	                   { "json", false, NULL, false }, { "limit", true, "100", false } };
	const char *p[4];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 6, NULL) || !(db = connect_db()))
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
		/* plain text: the same document, one line per item, for people */
		PGresult *t;
		const char *q[1] = { PQgetvalue(res, 0, 0) };

		t = exec_ok(db,
			"WITH d AS (SELECT $1::jsonb AS j)"
			" SELECT line FROM ("
			"  SELECT 0 AS s, 0 AS n, k || ': ' || COALESCE(v #>> '{}', '') AS line"
			"   FROM d, jsonb_each(j -> 'instance') AS e(k, v) WHERE v <> 'null'::jsonb"
			"  UNION ALL SELECT 1, ordinality, 'order  ' || (o ->> 'kind') || ' ' || (o ->> 'order_id') || ' '"
			"   || (o ->> 'order_line_id') || ' at ' || (o ->> 'at') || ' fetch=' || (o ->> 'fetch_state')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'orders', '[]')) WITH ORDINALITY AS x(o, ordinality)"
			"  UNION ALL SELECT 2, ordinality, 'event  #' || (e ->> 'id') || ' ' || (e ->> 'kind') || ' at '"
			"   || (e ->> 'at') || ' ' || (e ->> 'detail')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'events', '[]')) WITH ORDINALITY AS x(e, ordinality)"
			"  UNION ALL SELECT 3, ordinality, 'call   ' || (c ->> 'at') || ' ' || COALESCE(c ->> 'activity', '-')"
			"   || ' ' || COALESCE(c ->> 'result_code', '-') || ' ' || (c ->> 'verdict')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'calls', '[]')) WITH ORDINALITY AS x(c, ordinality)"
			" ) lines ORDER BY s, n", 1, q);
		for (int r = 0; t && r < PQntuples(t); r++) {
			put_text(stdout, PQgetvalue(t, r, 0));
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
		res = exec_ok(db, "UPDATE event SET delivered_at = NULL, attempts = 0, last_error = NULL, next_at = now()"
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
		" detail, delivered_at, attempts, last_error FROM event WHERE (NOT $1::boolean OR delivered_at IS NULL)"
		" AND ($2::text IS NULL OR instance_id = $2) ORDER BY id DESC LIMIT $3::int) e" :
		"SELECT id, to_char(at AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS at_utc, kind,"
		" COALESCE(instance_id, '') AS instance, CASE WHEN test_flag THEN 'test' ELSE '' END AS test,"
		" CASE WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'pending' END AS state, attempts,"
		" COALESCE(last_error, '') AS last_error FROM event WHERE (NOT $1::boolean OR delivered_at IS NULL)"
		" AND ($2::text IS NULL OR instance_id = $2) ORDER BY id DESC LIMIT $3::int", 3, p);
	if (!res)
		return 1;
	print_rows(res, o[2].set);
	PQclear(res);
	return 0;
}
