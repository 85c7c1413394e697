/* SPDX-License-Identifier: ISC */
/* releaseInstance (V2 §5.5, V1 §6.4): terminal and idempotent; the row and
 * its history stay for audit. */
#include "produce.h"
#include "instance.h"
#include "db.h"

static struct kg_stmt q_release = KG_STMT(release, 4,
	"SELECT koogate_release($1, $2, $3, $4::boolean)");

static enum kg_result release(struct kg_ctx *c, const char *instance, const char *order, const char *line)
{
	const char *p[4] = { instance, order, line, c->test ? "true" : "false" };

	kg_note_ids(c, instance, order);
	return instance_call(c, &q_release, p);
}

enum { L2_INSTANCE_ID, L2_ORDER_ID, L2_ORDER_LINE_ID, L2__MAX };

static const struct kg_field v2_fields[L2__MAX] = {
	[L2_INSTANCE_ID]   = { "instanceId",  KG_F_REQUIRED, 64, NULL },
	[L2_ORDER_ID]      = { "orderId",     0,             64, NULL },
	[L2_ORDER_LINE_ID] = { "orderLineId", 0,             64, NULL },
};

static enum kg_result v2_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	return release(c, v->v[L2_INSTANCE_ID], v->v[L2_ORDER_ID], v->v[L2_ORDER_LINE_ID]);
}

const struct kg_route v2_release_instance = ACTIVITY("releaseInstance", 2, v2_fields, v2_handle, NULL);

enum { L1_INSTANCE_ID, L1_ORDER_ID, L1__MAX };

static const struct kg_field v1_fields[L1__MAX] = {
	[L1_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 64, NULL },
	[L1_ORDER_ID]    = { "orderId",    KG_F_REQUIRED, 64, NULL },
};

static enum kg_result v1_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	return release(c, v->v[L1_INSTANCE_ID], v->v[L1_ORDER_ID], NULL);
}

const struct kg_route v1_release_instance = ACTIVITY("releaseInstance", 1, v1_fields, v1_handle, NULL);
