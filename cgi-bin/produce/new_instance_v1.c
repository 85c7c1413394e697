/* SPDX-License-Identifier: ISC */
/* V1 newInstance (§6.1): a GET that carries the customer and product; the
 * answer holds the app info at once. Idempotent per (orderId, productId):
 * a repeat returns the same instance and the same app info. */
#include <stdio.h>
#include <string.h>

#include "produce.h"
#include "instance.h"
#include "codec.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "response.h"

static struct kg_stmt q_details = KG_STMT(v1_details, 15,
	"UPDATE instance SET customer_id = $2, customer_name = $3, user_id = $4, user_name = $5,"
	" mobile_phone = $6::bytea, email = $7::bytea, sku_code = $8, charging_mode = $9,"
	" trial = $10::boolean, expire_time = $11::timestamptz, expire_time_raw = $12,"
	" extend_params = $13::jsonb, params = $14::jsonb, amount = $15"
	" WHERE instance_id = $1");

enum { N1_ORDER_ID, N1_BUSINESS_ID, N1_PRODUCT_ID, N1_CUSTOMER_ID, N1_CUSTOMER_NAME, N1_USER_ID,
       N1_USER_NAME, N1_MOBILE_PHONE, N1_EMAIL, N1_SKU_CODE, N1_TRIAL_FLAG, N1_EXPIRE_TIME,
       N1_CHARGING_MODE, N1_SAAS_EXTEND_PARAMS, N1_AMOUNT, N1__MAX };

static const char *const flags01[] = { "0", "1", NULL };

/* Enumerations are opaque strings (D42); only the lengths are bounded. */
static const struct kg_field fields[N1__MAX] = {
	[N1_ORDER_ID]           = { "orderId",          KG_F_REQUIRED, 64,   NULL },
	[N1_BUSINESS_ID]        = { "businessId",       KG_F_REQUIRED, 64,   NULL },
	[N1_PRODUCT_ID]         = { "productId",        0,             64,   NULL },
	[N1_CUSTOMER_ID]        = { "customerId",       0,             64,   NULL },
	[N1_CUSTOMER_NAME]      = { "customerName",     0,             256,  NULL },
	[N1_USER_ID]            = { "userId",           0,             64,   NULL },
	[N1_USER_NAME]          = { "userName",         0,             256,  NULL },
	[N1_MOBILE_PHONE]       = { "mobilePhone",      0,             256,  NULL },
	[N1_EMAIL]              = { "email",            0,             512,  NULL },
	[N1_SKU_CODE]           = { "skuCode",          0,             64,   NULL },
	[N1_TRIAL_FLAG]         = { "trialFlag",        0,             1,    flags01 },
	[N1_EXPIRE_TIME]        = { "expireTime",       0,             20,   NULL },
	[N1_CHARGING_MODE]      = { "chargingMode",     0,             32,   NULL },
	[N1_SAAS_EXTEND_PARAMS] = { "saasExtendParams", 0,             8192, NULL },
	[N1_AMOUNT]             = { "amount",           0,             20,   NULL },
};

/* D16: the basic key, AES-256 then AES-128; keep the ciphertext when neither
 * gives valid padding and UTF-8. Either way it is sealed at rest. */
static void seal_buyer_contact(struct kg_ctx *c, const char *v, struct kbuf *hex, bool *decrypted)
{
	struct kbuf plain = { 0 }, in = { 0 }, sealed = { 0 };

	*decrypted = false;
	if (!v || !*v)
		return;
	kg_b64_unspace(v, &in);
	*decrypted = kg_appinfo_decrypt(kg_appinfo_key(c, KG_ENC_AES256), in.p, in.len, &plain) ||
	             kg_appinfo_decrypt(kg_appinfo_key(c, KG_ENC_AES128), in.p, in.len, &plain);
	if (*decrypted)
		kg_seal(kg_cfg.master_key, plain.p, plain.len, &sealed);
	else
		kg_seal(kg_cfg.master_key, in.p, in.len, &sealed);
	kg_db_bytea_param(sealed.p, sealed.len, hex);
	kbuf_free(&plain);
	kbuf_free(&in);
	kbuf_free(&sealed);
}

/* saasExtendParams: Base64 of a JSON array of {name, value}. */
static json_object *extend_params(const char *v)
{
	struct kbuf raw = { 0 };
	json_object *j = NULL;

	if (v && *v && kg_b64_decode(v, strlen(v), &raw) && raw.len && kg_utf8_valid(raw.p, raw.len)) {
		j = json_tokener_parse(raw.p);
		if (j && !json_object_is_type(j, json_type_array)) {
			json_object_put(j);
			j = NULL;
		}
	}
	if (v && *v && !j)
		kg_log("note: saasExtendParams is not Base64 JSON; kept only in params");
	kbuf_free(&raw);
	return j;
}

/* Every parameter as received except the token and the contact data (D42). */
static json_object *all_params(const struct kg_params *ps)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < ps->n; i++) {
		const char *name = ps->v[i].name;
		if (strcmp(name, "authToken") && strcmp(name, "mobilePhone") && strcmp(name, "email") &&
		    !json_object_object_get_ex(o, name, NULL))
			json_object_object_add(o, name, json_object_new_string_len(ps->v[i].value, (int)ps->v[i].vlen));
	}
	return o;
}

static enum kg_result store_details(struct kg_ctx *c, const struct kg_values *v, const char *id)
{
	struct kbuf mobile = { 0 }, email = { 0 };
	json_object *ext = extend_params(v->v[N1_SAAS_EXTEND_PARAMS]);
	json_object *params = all_params(&c->params);
	const char *trial = v->v[N1_TRIAL_FLAG];
	char expire[32];
	bool expire_ok = v->v[N1_EXPIRE_TIME] && parse_expire(v->v[N1_EXPIRE_TIME], expire);
	bool mobile_plain, email_plain;
	enum kg_result r = KG_OK;

	seal_buyer_contact(c, v->v[N1_MOBILE_PHONE], &mobile, &mobile_plain);
	seal_buyer_contact(c, v->v[N1_EMAIL], &email, &email_plain);
	if (v->v[N1_EXPIRE_TIME] && !expire_ok)
		kg_log("note: expireTime is not yyyyMMddHHmmss; kept only in params");
	const char *p[15] = {
		id, v->v[N1_CUSTOMER_ID], v->v[N1_CUSTOMER_NAME], v->v[N1_USER_ID], v->v[N1_USER_NAME],
		mobile.p, email.p, v->v[N1_SKU_CODE], v->v[N1_CHARGING_MODE],
		trial ? (strcmp(trial, "1") == 0 ? "true" : "false") : NULL,
		expire_ok ? expire : NULL, v->v[N1_EXPIRE_TIME],
		ext ? kg_json_text(ext, NULL) : NULL, kg_json_text(params, NULL), v->v[N1_AMOUNT],
	};
	if (kg_db_run(&c->tx, &q_details, p) != 1)
		r = KG_EINTERNAL;
	kbuf_free(&mobile);
	kbuf_free(&email);
	json_object_put(ext);
	json_object_put(params);
	return r;
}

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	struct new_order o = {
		.generation = 1,
		.order_id = v->v[N1_ORDER_ID],
		.product_id = v->v[N1_PRODUCT_ID] ? v->v[N1_PRODUCT_ID] : "",
		.business_id = v->v[N1_BUSINESS_ID],
		.test = c->test,
	};
	char id[INSTANCE_ID_MAX + 1];
	const char *ids[1] = { id };
	json_object *info, *entry, *app;
	size_t known, pending;
	bool created;
	enum kg_result r;

	kg_note_ids(c, NULL, o.order_id);
	/* The instance and its customer data are one change. */
	if (!kg_db_begin(&c->tx))
		return KG_EINTERNAL;
	r = instance_create(c, &o, id, &created);
	if (r == KG_OK && created)
		r = store_details(c, v, id);
	if (r != KG_OK || !kg_db_commit(&c->tx)) {
		kg_db_rollback();
		return r == KG_OK ? KG_EINTERNAL : r;
	}
	info = json_object_new_array();
	if ((r = instance_app_infos(c, ids, 1, info, &known, &pending)) == KG_OK) {
		char type[4];

		snprintf(type, sizeof type, "%d", kg_cfg.encrypt_type);
		json_object_object_add(a->out, "instanceId", json_object_new_string(id));
		json_object_object_add(a->out, "encryptType", json_object_new_string(type));
		if ((entry = json_object_array_get_idx(info, 0)) &&
		    json_object_object_get_ex(entry, "appInfo", &app))
			json_object_object_add(a->out, "appInfo", json_object_get(app));
	}
	json_object_put(info);
	return r;
}

const struct kg_route v1_new_instance = ACTIVITY("newInstance", 1, fields, handle, NULL);
