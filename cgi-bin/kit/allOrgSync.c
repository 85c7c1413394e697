/* SPDX-License-Identifier: ISC */
/* allOrgSync (kit-interfaces.md §9, D22): the whole department list of
 * (instanceId, tenantId) as a snapshot: missing departments are deleted.
 * orgInfoList (V2) or orgInfo (V1), an array or a string, strict or lax. */
#include <stdio.h>

#include "kit.h"
#include "db.h"
#include "log.h"
#include "response.h"

#define MAX_ORGS 20000

static struct kg_stmt q_sync = KG_STMT(all_org_sync, 4,
	"SELECT koogate_all_org_sync($1, $2, $3::boolean, $4::jsonb)");

enum { L_INSTANCE_ID, L_TENANT_ID, L__MAX };

static const struct kg_field fields[L__MAX] = {
	[L_INSTANCE_ID] = { "instanceId", KG_F_PRESENT,  64, NULL },
	[L_TENANT_ID]   = { "tenantId",   KG_F_REQUIRED, 64, NULL },
};

static json_object *normalise(json_object *item, char *why, size_t whylen)
{
	const char *code = json_object_is_type(item, json_type_object) ? kit_text(item, "orgCode") : NULL;
	const char *name, *parent;
	json_object *o;

	if (!code || !*code || !kit_text_ok(code, 64, "orgCode", why, whylen)) {
		if (!*why)
			snprintf(why, whylen, "an item has no orgCode");
		return NULL;
	}
	name = kit_text(item, "orgName");          /* orgName wins over name (D6) */
	if (!name || !*name)
		name = kit_text(item, "name");
	parent = kit_text(item, "parentCode");
	if (!name || !*name) {
		snprintf(why, whylen, "department %s has no orgName", code);
		return NULL;
	}
	if (!kit_text_ok(name, 128, "orgName", why, whylen) || !kit_text_ok(parent, 64, "parentCode", why, whylen))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "orgCode", json_object_new_string(code));
	json_object_object_add(o, "orgName", json_object_new_string(name));
	json_object_object_add(o, "parentCode", json_object_new_string(parent ? parent : ""));
	return o;
}

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	static const char *const list_names[] = { "orgInfoList", "orgInfo", NULL };
	json_object *list, *orgs;
	char why[160] = "";
	enum kg_result r = KG_OK;
	size_t n;

	(void)a;
	kg_note_ids(c, v->v[L_INSTANCE_ID], NULL);
	if (!(list = kit_list(c->json, list_names, why, sizeof why))) {
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "%s", why);
	}
	n = json_object_array_length(list);
	if (n > MAX_ORGS) {
		json_object_put(list);
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "%zu departments; at most %d", n, MAX_ORGS);
	}
	orgs = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n && r == KG_OK; i++) {
		json_object *o = normalise(json_object_array_get_idx(list, i), why, sizeof why);

		if (!o) {
			r = kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "department %zu: %s", i + 1, why);
		} else {
			json_object_array_add(orgs, o);
		}
	}
	if (r == KG_OK) {
		const char *p[4] = { v->v[L_INSTANCE_ID], v->v[L_TENANT_ID], c->test ? "true" : "false",
		                     kg_json_text(orgs, NULL) };
		if (kg_db_run(&c->tx, &q_sync, p) < 0)
			r = KG_EINTERNAL;
	}
	json_object_put(orgs);
	json_object_put(list);
	return r;
}

int main(void)
{
	static const struct kit_interface k = KIT_INTERFACE("allOrgSync", fields, handle, false);
	return kg_kit_main(&k);
}
