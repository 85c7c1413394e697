/* SPDX-License-Identifier: ISC */
/* changeInstanceCheck (§5.7, D18): may this instance change specification at
 * renewal? Answered from configuration; accepting is the default. */
#include "produce.h"
#include "config.h"
#include "db.h"
#include "instance.h"
#include "log.h"

static struct kg_stmt q_exists = KG_READ_STMT(instance_exists, 1,
	"SELECT status FROM instance WHERE instance_id = $1");

enum { C_INSTANCE_ID, C_PRODUCT_INFO, C__MAX };

static const struct kg_field fields[C__MAX] = {
	[C_INSTANCE_ID]  = { "instanceId",  KG_F_REQUIRED, 64, NULL },
	[C_PRODUCT_INFO] = { "productInfo", KG_F_REQUIRED | KG_F_OBJECT, 0, NULL },
};

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	const char *p[1] = { v->v[C_INSTANCE_ID] };
	PGresult *res;
	int found;

	kg_note_ids(c, v->v[C_INSTANCE_ID], NULL);
	if (!(res = kg_db_exec(&c->tx, &q_exists, p)))
		return KG_EINTERNAL;
	found = PQntuples(res);
	PQclear(res);
	if (!found && !c->test)
		return KG_ENOINST;
	if (*kg_cfg.change_check_refuse) {
		kg_log("changeInstanceCheck refused by the configured policy");
		a->msg = kg_cfg.change_check_refuse;
		return KG_EINTERNAL;
	}
	return KG_OK;
}

const struct kg_route v2_change_instance_check =
	ACTIVITY("changeInstanceCheck", 2, fields, handle, NULL);
