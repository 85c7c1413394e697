/* SPDX-License-Identifier: ISC */
/* refreshInstance: renewal, trial to formal, renewal cancelled (V2 §5.3 with
 * a scene; V1 §6.2 without). Sets the expiry; idempotent per order. */
#include <string.h>

#include "produce.h"
#include "instance.h"
#include "db.h"
#include "log.h"

static struct kg_stmt q_refresh = KG_STMT(refresh, 9,
	"SELECT koogate_refresh($1, $2, $3, $4, $5, $6::timestamptz, $7, $8::boolean, $9::boolean)");

static const char *const known_scenes[] = {
	"TRIAL_TO_FORMAL", "RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD", NULL,
};

static enum kg_result refresh(struct kg_ctx *c, const char *instance, const char *order,
                              const char *line, const char *scene, const char *product,
                              const char *expire_raw, bool fetch)
{
	char expire[32];
	bool known = false;

	for (const char *const *s = known_scenes; *s; s++)
		known |= strcmp(*s, scene) == 0;
	kg_note_ids(c, instance, order);
	if (expire_raw && !parse_expire(expire_raw, expire)) {
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "expireTime is not yyyyMMddHHmmss");
	}
	if (!expire_raw && known) {
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "expireTime is missing");
	}
	if (!known)     /* D49: stored as received, expiry applied when present */
		kg_log("note: unknown refresh scene; recorded as received");
	const char *p[9] = { instance, order, line ? line : "", scene, product,
	                     expire_raw ? expire : NULL, expire_raw, c->test ? "true" : "false",
	                     fetch ? "true" : "false" };
	return instance_call(c, &q_refresh, p);
}

enum { R2_SCENE, R2_ORDER_ID, R2_ORDER_LINE_ID, R2_INSTANCE_ID, R2_PRODUCT_ID, R2_EXPIRE_TIME, R2__MAX };

static const struct kg_field v2_fields[R2__MAX] = {
	[R2_SCENE]         = { "scene",       KG_F_REQUIRED, 64, NULL },
	[R2_ORDER_ID]      = { "orderId",     KG_F_REQUIRED, 64, NULL },
	[R2_ORDER_LINE_ID] = { "orderLineId", KG_F_REQUIRED, 64, NULL },
	[R2_INSTANCE_ID]   = { "instanceId",  KG_F_REQUIRED, 64, NULL },
	[R2_PRODUCT_ID]    = { "productId",   0,             64, NULL },
	[R2_EXPIRE_TIME]   = { "expireTime",  0,             20, NULL },
};

static enum kg_result v2_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	/* "Changes upon renewal": the specification may change, so the order is
	 * read again through Query Order after the answer. */
	c->follow_up = true;
	return refresh(c, v->v[R2_INSTANCE_ID], v->v[R2_ORDER_ID], v->v[R2_ORDER_LINE_ID],
	               v->v[R2_SCENE], v->v[R2_PRODUCT_ID], v->v[R2_EXPIRE_TIME], true);
}

const struct kg_route v2_refresh_instance = ACTIVITY("refreshInstance", 2, v2_fields, v2_handle, NULL);

enum { R1_ORDER_ID, R1_INSTANCE_ID, R1_PRODUCT_ID, R1_EXPIRE_TIME, R1__MAX };

static const struct kg_field v1_fields[R1__MAX] = {
	[R1_ORDER_ID]    = { "orderId",    KG_F_REQUIRED, 64, NULL },
	[R1_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 64, NULL },
	[R1_PRODUCT_ID]  = { "productId",  0,             64, NULL },
	[R1_EXPIRE_TIME] = { "expireTime", KG_F_REQUIRED, 20, NULL },
};

static enum kg_result v1_handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	(void)a;
	return refresh(c, v->v[R1_INSTANCE_ID], v->v[R1_ORDER_ID], "", "RENEWAL",
	               v->v[R1_PRODUCT_ID], v->v[R1_EXPIRE_TIME], false);
}

const struct kg_route v1_refresh_instance = ACTIVITY("refreshInstance", 1, v1_fields, v1_handle, NULL);
