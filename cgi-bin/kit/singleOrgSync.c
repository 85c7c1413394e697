/* SPDX-License-Identifier: ISC */
/* singleOrgSync (kit-interfaces.md §8): one department added, modified
 * (renamed or moved) or deleted. Keyed by (instanceId, tenantId, orgCode). */
#include <string.h>

#include "kit.h"
#include "db.h"
#include "log.h"

static struct kg_stmt q_sync = KG_STMT(single_org_sync, 7,
	"SELECT koogate_single_org_sync($1, $2, $3, $4, $5, $6::int, $7::boolean)");

static const char *const flags[] = { "0", "1", "2", NULL };

enum { O_INSTANCE_ID, O_TENANT_ID, O_ORG_CODE, O_ORG_NAME, O_NAME, O_PARENT_CODE, O_FLAG, O__MAX };

static const struct kg_field fields[O__MAX] = {
	[O_INSTANCE_ID] = { "instanceId", KG_F_PRESENT,  64,  NULL },
	[O_TENANT_ID]   = { "tenantId",   KG_F_REQUIRED, 64,  NULL },
	[O_ORG_CODE]    = { "orgCode",    KG_F_REQUIRED, 64,  NULL },
	[O_ORG_NAME]    = { "orgName",    0,             128, NULL },
	[O_NAME]        = { "name",       0,             128, NULL },   /* V1 spelling (D6) */
	[O_PARENT_CODE] = { "parentCode", 0,             64,  NULL },
	[O_FLAG]        = { "flag",       KG_F_REQUIRED, 2,   flags },
};

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	const char *name = v->v[O_ORG_NAME] && *v->v[O_ORG_NAME] ? v->v[O_ORG_NAME] : v->v[O_NAME];
	const char *p[7] = { v->v[O_INSTANCE_ID], v->v[O_TENANT_ID], v->v[O_ORG_CODE], name ? name : "",
	                     v->v[O_PARENT_CODE], v->v[O_FLAG], c->test ? "true" : "false" };

	(void)a;
	kg_note_ids(c, v->v[O_INSTANCE_ID], NULL);
	if (strcmp(v->v[O_FLAG], "0") != 0 && (!name || !*name)) {
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "orgName is required to add or modify a department");
	}
	return kg_db_run(&c->tx, &q_sync, p) < 0 ? KG_EINTERNAL : KG_OK;
}

int main(void)
{
	static const struct kit_interface k = KIT_INTERFACE("singleOrgSync", fields, handle, false);
	return kg_kit_main(&k);
}
