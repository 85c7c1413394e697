/* SPDX-License-Identifier: ISC */
/* upgradeInstance (V2 §5.6; the new specification comes from Query Order)
 * and upgrade (V1 §6.6; it carries productId/skuCode/amount). */
#include "produce.h"
#include "instance.h"
#include "db.h"

static struct kg_stmt q_upgrade = KG_STMT(upgrade, 8,
	"SELECT koogate_upgrade($1, $2, $3, $4, $5, $6, $7::boolean, $8::boolean)");

static enum kg_result upgrade(struct kg_ctx *c, const char *instance, const char *order, const char *line,
                              const char *product, const char *sku, const char *amount, bool fetch)
{
	const char *p[8] = { instance, order, line, product, sku, amount, c->test ? "true" : "false",
	                     fetch ? "true" : "false" };

	kg_note_ids(c, instance, order);
	return instance_call(c, &q_upgrade, p);
}

enum { U2_INSTANCE_ID, U2_ORDER_ID, U2_ORDER_LINE_ID, U2__MAX };

static const struct kg_field v2_fields[U2__MAX] = {
	[U2_INSTANCE_ID]   = { "instanceId",  KG_F_REQUIRED, 64, NULL },
	[U2_ORDER_ID]      = { "orderId",     KG_F_REQUIRED, 64, NULL },
	[U2_ORDER_LINE_ID] = { "orderLineId", KG_F_REQUIRED, 64, NULL },
};

static enum kg_result v2_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	c->follow_up = true;
	return upgrade(c, v->v[U2_INSTANCE_ID], v->v[U2_ORDER_ID], v->v[U2_ORDER_LINE_ID],
	               NULL, NULL, NULL, true);
}

const struct kg_route v2_upgrade_instance = ACTIVITY("upgradeInstance", 2, v2_fields, v2_handle, NULL);

enum { U1_INSTANCE_ID, U1_ORDER_ID, U1_SKU_CODE, U1_PRODUCT_ID, U1_AMOUNT, U1__MAX };

static const struct kg_field v1_fields[U1__MAX] = {
	[U1_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 64, NULL },
	[U1_ORDER_ID]    = { "orderId",    KG_F_REQUIRED, 64, NULL },
	[U1_SKU_CODE]    = { "skuCode",    KG_F_REQUIRED, 64, NULL },
	[U1_PRODUCT_ID]  = { "productId",  KG_F_REQUIRED, 64, NULL },
	[U1_AMOUNT]      = { "amount",     0,             20, NULL },
};

static enum kg_result v1_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	return upgrade(c, v->v[U1_INSTANCE_ID], v->v[U1_ORDER_ID], "", v->v[U1_PRODUCT_ID],
	               v->v[U1_SKU_CODE], v->v[U1_AMOUNT], false);
}

const struct kg_route v1_upgrade = ACTIVITY("upgrade", 1, v1_fields, v1_handle, NULL);
