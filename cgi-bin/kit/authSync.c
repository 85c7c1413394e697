/* SPDX-License-Identifier: ISC */
/* authSync (kit-interfaces.md §7): users granted the app. Keyed by
 * (instanceId, tenantId, appId, userName); flag 1 add, 2 modify, 0 delete,
 * 3 revoke. userList is an array or a string holding one (D6). */
#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "response.h"

#define V1_MAX_USERS 500      /* the V1 limit per call */
#define V2_MAX_USERS 5000     /* not published for V2; a sanity bound */

static struct kg_stmt q_sync = KG_STMT(auth_sync, 6,
	"SELECT koogate_auth_sync($1, $2, $3, $4::int, $5::boolean, $6::jsonb)");

static const char *const flags[] = { "0", "1", "2", "3", NULL };

enum { U_INSTANCE_ID, U_TENANT_ID, U_APP_ID, U_USER_LIST, U_FLAG, U__MAX };

static const struct kg_field fields[U__MAX] = {
	[U_INSTANCE_ID] = { "instanceId", KG_F_PRESENT,  64, NULL },
	[U_TENANT_ID]   = { "tenantId",   KG_F_REQUIRED, 64, NULL },
	[U_APP_ID]      = { "appId",      KG_F_REQUIRED, 64, NULL },
	[U_USER_LIST]   = { "userList",   KG_F_PRESENT | KG_F_ANY, 0, NULL },
	[U_FLAG]        = { "flag",       KG_F_REQUIRED, 2,  flags },
};

/* Text members copied as strings; extension fills the ones that are absent. */
static const struct { const char *name; size_t max; } texts[] = {
	{ "name", 64 }, { "orgCode", 64 }, { "position", 64 }, { "employeeCode", 64 },
	{ "employeeType", 11 }, { "role", 32 }, { "workPlace", KIT_TEXT_MAX }, { "entryDate", 32 },
};

static void seal_contact(json_object *out, const char *mobile, const char *email)
{
	struct kbuf sealed = { 0 }, hex = { 0 }, both = { 0 };
	unsigned char mac[KG_SHA256_LEN];
	const char *v[2] = { mobile, email }, *name[2] = { "mobile", "email" };

	for (int i = 0; i < 2; i++) {
		if (!v[i] || !*v[i])
			continue;
		kbuf_reset(&sealed);
		kbuf_reset(&hex);
		kg_seal(kg_cfg.master_key, v[i], strlen(v[i]), &sealed);
		kg_db_bytea_param(sealed.p, sealed.len, &hex);
		json_object_object_add(out, name[i], json_object_new_string(hex.p + 2)); /* without \x */
	}
	kbuf_printf(&both, "%s\n%s", mobile ? mobile : "", email ? email : "");
	kg_hmac_sha256(kg_cfg.master_key, KG_MASTER_KEY_LEN, both.p, both.len, mac);
	kbuf_reset(&hex);
	kg_db_bytea_param(mac, sizeof mac, &hex);
	json_object_object_add(out, "contactMac", json_object_new_string(hex.p + 2));
	kbuf_free(&sealed);
	kbuf_free(&hex);
	kbuf_free(&both);
}

/* One user as the SQL function expects it, or NULL with why. */
static json_object *normalise(json_object *item, char *why, size_t whylen)
{
	json_object *u, *ext = NULL;
	const char *name = kit_text(item, "userName");

	if (!json_object_is_type(item, json_type_object)) {
		snprintf(why, whylen, "a userList item is not an object");
		return NULL;
	}
	if (!name || !*name || !kit_text_ok(name, 64, "userName", why, whylen)) {
		if (!*why)
			snprintf(why, whylen, "a user has no userName");
		return NULL;
	}
	json_object_object_get_ex(item, "extension", &ext);
	if (ext && !json_object_is_type(ext, json_type_object))
		ext = NULL;
	u = json_object_new_object();
	json_object_object_add(u, "userName", json_object_new_string(name));
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		const char *t = kit_text(item, texts[i].name);

		if (!t && ext)
			t = kit_text(ext, texts[i].name);
		if (!kit_text_ok(t, texts[i].max, texts[i].name, why, whylen)) {
			json_object_put(u);
			return NULL;
		}
		if (t)
			json_object_object_add(u, texts[i].name, json_object_new_string(t));
	}
	json_object_object_add(u, "enable", json_object_new_boolean(kit_bool(kit_text(item, "enable"), true)));
	if (ext)
		json_object_object_add(u, "extension", json_object_get(ext));
	seal_contact(u, kit_text(item, "mobile"), kit_text(item, "email"));
	return u;
}

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	static const char *const list_names[] = { "userList", NULL };
	json_object *list, *users;
	size_t n, max = kit_is_v1(c) ? V1_MAX_USERS : V2_MAX_USERS;
	char why[160] = "";
	enum kg_result r = KG_OK;

	(void)a;
	kg_note_ids(c, v->v[U_INSTANCE_ID], NULL);
	if (!(list = kit_list(c->json, list_names, why, sizeof why))) {
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "%s", why);
	}
	n = json_object_array_length(list);
	if (n > max) {
		json_object_put(list);
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "%zu users in one call; at most %zu", n, max);
	}
	users = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n && r == KG_OK; i++) {
		json_object *u = normalise(json_object_array_get_idx(list, i), why, sizeof why);

		if (!u) {
			r = kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "user %zu: %s", i + 1, why);
		} else {
			json_object_array_add(users, u);
		}
	}
	if (r == KG_OK) {
		const char *p[6] = { v->v[U_INSTANCE_ID], v->v[U_TENANT_ID], v->v[U_APP_ID], v->v[U_FLAG],
		                     c->test ? "true" : "false", kg_json_text(users, NULL) };
		if (kg_db_run(&c->tx, &q_sync, p) < 0)
			r = KG_EINTERNAL;
	}
	json_object_put(users);
	json_object_put(list);
	return r;
}

int main(void)
{
	static const struct kit_interface k = KIT_INTERFACE("authSync", fields, handle, false);
	return kg_kit_main(&k);
}
