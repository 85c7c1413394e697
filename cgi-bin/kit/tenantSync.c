/* SPDX-License-Identifier: ISC */
/* tenantSync (kit-interfaces.md §5): the buyer's enterprise, bound to an
 * instance; its domainName is the tenant's identity provider. Keyed by
 * (instanceId, tenantId); flag 1 add, 2 modify, 0 delete. */
#include <stdlib.h>

#include "kit.h"
#include "db.h"

static struct kg_stmt q_sync = KG_STMT(tenant_sync, 8,
	"SELECT koogate_tenant_sync($1, $2, $3, $4, $5, $6, $7::int, $8::boolean)");

static const char *const flags[] = { "0", "1", "2", NULL };

enum { T_INSTANCE_ID, T_ORDER_ID, T_TENANT_ID, T_TENANT_CODE, T_NAME, T_DOMAIN_NAME, T_FLAG, T__MAX };

static const struct kg_field fields[T__MAX] = {
	[T_INSTANCE_ID] = { "instanceId", KG_F_PRESENT,  64,  NULL },
	[T_ORDER_ID]    = { "orderId",    KG_F_PRESENT,  64,  NULL },
	[T_TENANT_ID]   = { "tenantId",   KG_F_REQUIRED, 64,  NULL },
	[T_TENANT_CODE] = { "tenantCode", KG_F_REQUIRED, 64,  NULL },
	[T_NAME]        = { "name",       KG_F_REQUIRED, 255, NULL },
	[T_DOMAIN_NAME] = { "domainName", KG_F_REQUIRED, 255, NULL },
	[T_FLAG]        = { "flag",       KG_F_REQUIRED, 2,   flags },
};

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	const char *p[8] = { v->v[T_INSTANCE_ID], v->v[T_TENANT_ID], v->v[T_TENANT_CODE], v->v[T_NAME],
	                     v->v[T_DOMAIN_NAME], v->v[T_ORDER_ID], v->v[T_FLAG], c->test ? "true" : "false" };

	(void)a;
	kg_note_ids(c, v->v[T_INSTANCE_ID], v->v[T_ORDER_ID]);
	return kg_db_run(&c->tx, &q_sync, p) < 0 ? KG_EINTERNAL : KG_OK;
}

int main(void)
{
	static const struct kit_interface k = KIT_INTERFACE("tenantSync", fields, handle, false);
	return kg_kit_main(&k);
}
