/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "ck.h"
#include "config.h"
#include "db.h"
#include "log.h"

/* One row: the instance of this order line, whether it already existed or
 * was created now (NULL: a concurrent request is creating it, or the
 * businessId already names another instance), whether it was created now,
 * and the vendor's capacity refusal (sql/015; NULL when there is room; an
 * order already answered is never refused). The instance, its order row (V2:
 * Query Order pending, D10) and its event: one statement, one transaction
 * (sql/025), which is also the nonce claim's (sql/026): a request's first
 * statement, so no separate look-up goes before it. The event notes its id
 * for the process's next announcement (sql/027). $14 is the order line
 * as each generation names it: orderLineId (V2), productId (V1). */
#define CREATE_SQL(generation, line_column) \
	"WITH old AS (SELECT instance_id FROM instance" \
	"  WHERE generation = " generation " AND order_id = $3 AND " line_column " = $14 AND test_flag = $8::boolean" \
	"), cap AS (SELECT CASE WHEN $8::boolean OR EXISTS (SELECT FROM old) THEN NULL" \
	"  ELSE koogate_capacity('new', $2::integer, $3, $4, NULLIF($5, ''), NULL, $1) END AS refusal" \
	"), ins AS (" \
	"  INSERT INTO instance (instance_id, generation, order_id, order_line_id, product_id," \
	"    business_id, status, test_flag, app_front_end_url, app_admin_url, app_user_name," \
	"    app_password, app_memo)" \
	"  SELECT $1, $2::smallint, $3, $4, $5, $6, $7, $8::boolean, $9, $10, $11, $12::bytea, $13" \
	"  FROM cap WHERE refusal IS NULL AND NOT EXISTS (SELECT FROM old)" \
	"  ON CONFLICT DO NOTHING" \
	"  RETURNING instance_id, order_id, order_line_id, product_id, test_flag, status, generation" \
	"), ord AS (" \
	"  INSERT INTO instance_order (instance_id, order_id, order_line_id, kind, product_id, test_flag," \
	"    fetch_state, fetch_next_at)" \
	"  SELECT instance_id, order_id, order_line_id, 'new', NULLIF(product_id, ''), test_flag," \
	"         CASE WHEN generation = 2 THEN 'pending' ELSE 'none' END," \
	"         CASE WHEN generation = 2 THEN now() END" \
	"  FROM ins" \
	"), ev AS (" \
	"  INSERT INTO event (kind, instance_id, order_id, order_line_id, test_flag, detail)" \
	"  SELECT 'created', instance_id, order_id, order_line_id, test_flag," \
	"         jsonb_build_object('generation', generation, 'businessId', $6::text," \
	"                            'productId', $5::text, 'status', status)" \
	"  FROM ins RETURNING koogate_event_written(id)" \
	") SELECT COALESCE(ins.instance_id, (SELECT instance_id FROM old)), ins.instance_id IS NOT NULL, cap.refusal" \
	"  FROM cap LEFT JOIN ins ON true"
static struct kg_stmt q_create_v2 = KG_STMT(instance_create_v2, 14, CREATE_SQL("2", "order_line_id"));
static struct kg_stmt q_create_v1 = KG_STMT(instance_create_v1, 14, CREATE_SQL("1", "product_id"));
static struct kg_stmt q_find_v2 = KG_READ_STMT(instance_find_v2, 3,
	"SELECT instance_id FROM instance"
	" WHERE generation = 2 AND order_id = $1 AND order_line_id = $2 AND test_flag = $3::boolean");
static struct kg_stmt q_find_v1 = KG_READ_STMT(instance_find_v1, 3,
	"SELECT instance_id FROM instance"
	" WHERE generation = 1 AND order_id = $1 AND product_id = $2 AND test_flag = $3::boolean");
static struct kg_stmt q_app_infos = KG_READ_STMT(instance_app_infos, 1,
	"SELECT instance_id, status, app_front_end_url, app_admin_url, app_user_name,"
	"       app_password, app_memo, test_flag, NULL, NULL"
	" FROM instance WHERE instance_id = ANY ($1::text[])");
/* With usage_info (D14, sql/014): pay-per-use and package instances' usage. */
static struct kg_stmt q_app_infos_usage = KG_READ_STMT(instance_app_infos_usage, 4,
	"SELECT i.instance_id, i.status, i.app_front_end_url, i.app_admin_url, i.app_user_name,"
	"       i.app_password, i.app_memo, i.test_flag, u.usage_value, u.statistical_time"
	" FROM instance i LEFT JOIN LATERAL koogate_usage_info(i,"
	"   string_to_array(regexp_replace($2, '\\s', '', 'g'), ','),"
	"   string_to_array(regexp_replace($3, '\\s', '', 'g'), ','), $4::int) u ON true"
	" WHERE i.instance_id = ANY ($1::text[])");

/* {instanceId} in the configured template, percent-encoded. */
static void expand_url(const char *tmpl, const char *id, struct kbuf *out)
{
	static const char mark[] = "{instanceId}";
	const char *p;

	while ((p = strstr(tmpl, mark))) {
		kbuf_put(out, tmpl, (size_t)(p - tmpl));
		for (const char *s = id; *s; s++) {
			unsigned char ch = (unsigned char)*s;
			if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
				kbuf_putc(out, (char)ch);
			else
				kbuf_printf(out, "%%%02X", ch);
		}
		tmpl = p + sizeof mark - 1;
	}
	kbuf_puts(out, tmpl);
}

/* The initial account (D17): both at most 31 bytes so the ciphertext fits 60. */
static void new_account(char user[32], char password[32])
{
	static const char lower[] = "abcdefghijkmnpqrstuvwxyz23456789";
	static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
	char tail[9], pw[17];

	kg_random_chars(tail, 8, lower);
	snprintf(user, 32, "admin-%s", tail);
	kg_random_chars(pw, 16, alnum);
	/* a digit and a symbol keep common password policies satisfied */
	snprintf(password, 32, "%s#7", pw);
	ck_memzero(pw, sizeof pw);
}

static enum kg_result find(struct kg_tx *tx, const struct new_order *o, char id[INSTANCE_ID_MAX + 1])
{
	const char *p[3] = { o->order_id, o->generation == 2 ? o->order_line_id : o->product_id,
	                     o->test ? "true" : "false" };
	PGresult *res = kg_db_exec(tx, o->generation == 2 ? &q_find_v2 : &q_find_v1, p);
	enum kg_result r = KG_ENOINST;

	if (!res)
		return KG_EINTERNAL;
	if (PQntuples(res) == 1) {
		snprintf(id, INSTANCE_ID_MAX + 1, "%s", PQgetvalue(res, 0, 0));
		r = KG_OK;
	}
	PQclear(res);
	return r;
}

enum kg_result instance_create(struct kg_ctx *c, const struct new_order *o,
                               char id[INSTANCE_ID_MAX + 1], bool *created)
{
	struct kbuf url = { 0 }, sealed = { 0 }, sealed_hex = { 0 };
	char user[32] = "", password[32] = "", gen[4], fresh_id[37];
	bool ready = kg_cfg.provision_mode == KG_PROVISION_AUTO;
	enum kg_result r;
	const char *candidate = o->business_id;

	*created = false;
	snprintf(gen, sizeof gen, "%d", o->generation);
	for (int attempt = 0; attempt < 3; attempt++) {
		const char *p[14];
		PGresult *res;

		kbuf_reset(&url);
		kbuf_reset(&sealed);
		kbuf_reset(&sealed_hex);
		if (ready) {
			expand_url(kg_cfg.app_front_end_url, candidate, &url);
			new_account(user, password);
			kg_seal(kg_cfg.master_key, password, strlen(password), &sealed);
			kg_db_bytea_param(sealed.p, sealed.len, &sealed_hex);
		}
		p[0] = candidate;
		p[1] = gen;
		p[2] = o->order_id;
		p[3] = o->order_line_id ? o->order_line_id : "";
		p[4] = o->product_id ? o->product_id : "";
		p[5] = o->business_id;
		p[6] = ready ? "active" : "pending";
		p[7] = o->test ? "true" : "false";
		p[8] = ready ? url.p : NULL;
		p[9] = ready && *kg_cfg.app_admin_url ? kg_cfg.app_admin_url : NULL;
		p[10] = ready ? user : NULL;
		p[11] = ready ? sealed_hex.p : NULL;
		p[12] = ready && *kg_cfg.app_memo ? kg_cfg.app_memo : NULL;
		p[13] = o->generation == 2 ? p[3] : p[4];
		res = kg_db_exec(&c->tx, o->generation == 2 ? &q_create_v2 : &q_create_v1, p);
		ck_memzero(password, sizeof password);
		if (!res) {
			r = KG_EINTERNAL;
			break;
		}
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 2)) {
			kg_log("order %s refused by koogate_capacity: %s", o->order_id, PQgetvalue(res, 0, 2));
			PQclear(res);
			r = KG_ENORES;
			break;
		}
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
			snprintf(id, INSTANCE_ID_MAX + 1, "%s", PQgetvalue(res, 0, 0));
			*created = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
			PQclear(res);
			r = KG_OK;
			break;
		}
		PQclear(res);
		/* Nothing inserted: either a concurrent request created this order
		 * (now committed and visible), or the businessId is already another
		 * order's instanceId; then a fresh id is chosen. */
		if ((r = find(&c->tx, o, id)) != KG_ENOINST)
			break;
		kg_random_uuid(fresh_id);
		candidate = fresh_id;
		kg_log("businessId already names another instance; using %s", fresh_id);
	}
	kbuf_free(&url);
	kbuf_free(&sealed);
	kbuf_free(&sealed_hex);
	if (r == KG_ENOINST)
		r = KG_EINTERNAL;
	if (r == KG_OK)
		kg_note_ids(c, id, o->order_id);
	return r;
}

static void add_encrypted(struct kg_ctx *c, json_object *app, const char *name, const char *plain)
{
	struct kbuf enc = { 0 };

	if (kg_appinfo_encrypt(kg_appinfo_key(c, (enum kg_enctype)kg_cfg.encrypt_type), NULL,
	                       plain, strlen(plain), &enc))
		json_object_object_add(app, name, json_object_new_string_len(enc.p, (int)enc.len));
	kbuf_free(&enc);
}

static void add_str(json_object *o, const char *name, const char *v)
{
	if (v && *v)
		json_object_object_add(o, name, json_object_new_string(v));
}

static json_object *app_info(struct kg_ctx *c, const char *front, const char *admin,
                             const char *user, const char *password, const char *memo)
{
	json_object *app = json_object_new_object();

	add_str(app, "frontEndUrl", front);
	add_str(app, "adminUrl", admin);
	if (user && *user)
		add_encrypted(c, app, "userName", user);
	if (password && *password)
		add_encrypted(c, app, "password", password);
	add_str(app, "memo", memo);
	return app;
}

static json_object *entry(const char *id, json_object *app, PGresult *res, int row)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "instanceId", json_object_new_string(id));
	json_object_object_add(e, "appInfo", app);
	if (res && !PQgetisnull(res, row, 8)) {
		json_object *u = json_object_new_object();

		/* usageValue is a number with at most 4 decimals (D14) */
		json_object_object_add(u, "usageValue", json_object_new_double_s(atof(PQgetvalue(res, row, 8)),
		                                                                  PQgetvalue(res, row, 8)));
		json_object_object_add(u, "statisticalTime", json_object_new_string(PQgetvalue(res, row, 9)));
		json_object_object_add(e, "usageInfo", u);
	}
	return e;
}

enum kg_result instance_app_infos(struct kg_ctx *c, const char *const *ids, size_t n,
                                  json_object *info, size_t *known, size_t *pending)
{
	struct kbuf arr = { 0 };
	char window[16];
	const char *p[4];
	PGresult *res;
	int rows;

	*known = *pending = 0;
	kg_db_text_array(ids, n, &arr);
	snprintf(window, sizeof window, "%d", kg_cfg.usage_window);
	p[0] = arr.p;
	p[1] = kg_cfg.usage_on_demand_products;
	p[2] = kg_cfg.usage_package_products;
	p[3] = window;
	res = kg_db_exec(&c->tx, kg_cfg.usage_info ? &q_app_infos_usage : &q_app_infos, p);
	kbuf_free(&arr);
	if (!res)
		return KG_EINTERNAL;
	rows = PQntuples(res);
	for (size_t i = 0; i < n; i++) {
		int row = -1;

		for (int r = 0; r < rows; r++)
			if (strcmp(PQgetvalue(res, r, 0), ids[i]) == 0)
				row = r;
		/* A test request naming a production instance gets the test
		 * account, never the customer's (D19). */
		if (row >= 0 && c->test && strcmp(PQgetvalue(res, row, 7), "t") != 0) {
			(*known)++;
			kg_log("instance %s: a test request about a production instance; answered with the test account",
			       ids[i]);
		} else if (row >= 0) {
			const char *status = PQgetvalue(res, row, 1);
			struct kbuf sealed = { 0 }, password = { 0 };

			(*known)++;
			if (strcmp(status, "pending") == 0) {
				(*pending)++;
			} else if (strcmp(status, "released") != 0 && !PQgetisnull(res, row, 2)) {
				if (!PQgetisnull(res, row, 5) &&
				    (!kg_db_bytea_value(PQgetvalue(res, row, 5), &sealed) ||
				     !kg_unseal(kg_cfg.master_key, sealed.p, sealed.len, &password))) {
					kg_log("instance %s: stored password cannot be unsealed (master key changed?)", ids[i]);
					kbuf_free(&sealed);
					PQclear(res);
					return KG_EINTERNAL;
				}
				json_object_array_add(info, entry(ids[i], app_info(c,
					PQgetvalue(res, row, 2), PQgetvalue(res, row, 3), PQgetvalue(res, row, 4),
					password.p, PQgetvalue(res, row, 6)), res, row));
				kbuf_free(&sealed);
				kbuf_free(&password);
				continue;
			}
		}
		if (c->test) {
			struct kbuf url = { 0 };

			expand_url(kg_cfg.app_front_end_url, ids[i], &url);
			json_object_array_add(info, entry(ids[i], app_info(c, url.p, kg_cfg.app_admin_url,
				kg_cfg.test_user_name, kg_cfg.test_password, "test instance"), NULL, 0));
			kbuf_free(&url);
		}
	}
	PQclear(res);
	return KG_OK;
}

bool parse_expire(const char *raw, char out[32])
{
	size_t n = strlen(raw);
	unsigned f[6];

	if ((n != 14 && n != 17) || strspn(raw, "0123456789") != n ||
	    sscanf(raw, "%4u%2u%2u%2u%2u%2u", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]) != 6 ||
	    !ck_civil_date(f[0], f[1], f[2]) || f[3] > 23 || f[4] > 59 || f[5] > 60)
		return false;
	snprintf(out, 32, "%04u-%02u-%02u %02u:%02u:%02u+00", f[0], f[1], f[2], f[3], f[4], f[5]);
	return true;
}

enum kg_result instance_call(struct kg_ctx *c, struct kg_stmt *st, const char *const *params)
{
	PGresult *res = kg_db_exec(&c->tx, st, params);
	enum kg_result r;
	const char *verdict;

	if (!res)
		return KG_EINTERNAL;
	verdict = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	if (strcmp(verdict, "ok") == 0 || strcmp(verdict, "test-noop") == 0)
		r = KG_OK;
	else if (strcmp(verdict, "unknown") == 0 && c->test)
		r = KG_OK;
	else if (strncmp(verdict, "no-capacity", 11) == 0)
		r = KG_ENORES;      /* the vendor's koogate_capacity said no (sql/015) */
	else
		r = KG_ENOINST;
	if (strcmp(verdict, "ok") != 0)
		kg_log("instance %s: %s", params[0], *verdict ? verdict : "no verdict");
	PQclear(res);
	return r;
}
