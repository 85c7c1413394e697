/* SPDX-License-Identifier: ISC */
/* Freeze and unfreeze: V2 updateInstanceStatus (§5.4), V1 instanceStatus
 * (§6.5) and V1 expireInstance (§6.3). UNFREEZE and NORMAL are synonyms
 * (D48); setting the state an instance already has succeeds. */
#include <string.h>

#include "produce.h"
#include "instance.h"
#include "db.h"

static struct kg_stmt q_set_frozen = KG_STMT(set_frozen, 4,
	"SELECT koogate_set_frozen($1, $2::boolean, $3::boolean, $4::boolean)");

static const char *const statuses[] = { "FREEZE", "UNFREEZE", "NORMAL", NULL };

static enum kg_result set_frozen(struct kg_ctx *c, const char *instance, const char *order,
                                 bool freeze, bool expired)
{
	const char *p[4] = { instance, freeze ? "true" : "false", expired ? "true" : "false",
	                     c->test ? "true" : "false" };

	kg_note_ids(c, instance, order);
	return instance_call(c, &q_set_frozen, p);
}

enum { S2_INSTANCE_ID, S2_STATUS, S2__MAX };

static const struct kg_field v2_fields[S2__MAX] = {
	[S2_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 64, NULL },
	[S2_STATUS]      = { "status",     KG_F_REQUIRED, 32, statuses },
};

static enum kg_result v2_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	return set_frozen(c, v->v[S2_INSTANCE_ID], NULL, strcmp(v->v[S2_STATUS], "FREEZE") == 0, false);
}

const struct kg_route v2_update_instance_status =
	ACTIVITY("updateInstanceStatus", 2, v2_fields, v2_handle, NULL);

enum { S1_INSTANCE_ID, S1_STATUS, S1__MAX };

static const struct kg_field v1_fields[S1__MAX] = {
	[S1_INSTANCE_ID] = { "instanceId",     KG_F_REQUIRED, 64, NULL },
	[S1_STATUS]      = { "instanceStatus", KG_F_REQUIRED, 32, statuses },
};

static enum kg_result v1_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	return set_frozen(c, v->v[S1_INSTANCE_ID], NULL, strcmp(v->v[S1_STATUS], "FREEZE") == 0, false);
}

const struct kg_route v1_instance_status = ACTIVITY("instanceStatus", 1, v1_fields, v1_handle, NULL);

enum { E1_INSTANCE_ID, E1_ORDER_ID, E1__MAX };

static const struct kg_field expire_fields[E1__MAX] = {
	[E1_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 64, NULL },
	[E1_ORDER_ID]    = { "orderId",    KG_F_REQUIRED, 64, NULL },
};

static enum kg_result expire_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	/* An expiry freeze: a later renewal lifts it (D51). */
	return set_frozen(c, v->v[E1_INSTANCE_ID], v->v[E1_ORDER_ID], true, true);
}

const struct kg_route v1_expire_instance = ACTIVITY("expireInstance", 1, expire_fields, expire_handle, NULL);
