/* SPDX-License-Identifier: ISC */
/* produce: authentication per generation, then dispatch by activity. */
#include <stdio.h>
#include <string.h>

#include "produce.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "config.h"
#include "orders.h"
#include "response.h"

static const struct kg_route *const activities[] = {
	&v2_new_instance, &v2_query_instance, &v2_refresh_instance, &v2_update_instance_status,
	&v2_release_instance, &v2_upgrade_instance, &v2_change_instance_check,
	&v1_new_instance, &v1_query_instance, &v1_refresh_instance, &v1_expire_instance,
	&v1_release_instance, &v1_upgrade, &v1_instance_status,
};

static struct kg_stmt q_v1_order = KG_STMT(v1_in_order, 2, "SELECT koogate_v1_in_order($1, $2)");

/* V1 has no nonce, and its authToken travels in the URL: a state change read
 * from a log could be replayed within v1_max_age and undo a later one. One
 * older than the instance's last V1 change is refused (sql/012); a retry
 * carries the same timeStamp and passes. */
static bool v1_in_order(struct kg_ctx *c, const struct kg_route *act)
{
	static const char *const changes[] = { "refreshInstance", "expireInstance", "releaseInstance",
	                                       "upgrade", "instanceStatus", NULL };
	const char *p[2] = { kg_params_get(&c->params, "instanceId"), kg_params_get(&c->params, "timeStamp") };
	PGresult *res;
	bool ok;
	size_t i;

	for (i = 0; changes[i] && strcmp(changes[i], act->name) != 0; i++)
		;
	if (!changes[i] || !p[0] || !p[1])
		return true;
	if (!(res = kg_db_exec(&c->tx, &q_v1_order, p))) {
		kg_reply(c, kg_refuse(c, KG_EINTERNAL, KG_V_DB_ERROR, "database unavailable for the V1 order check"),
		         NULL, NULL);
		return false;
	}
	ok = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!ok)
		kg_reply(c, kg_refuse(c, KG_EAUTH, KG_V_STALE, "V1 %s is older than the last V1 change of instance %s"
		                      " (a replay?)", act->name, p[0]), NULL, NULL);
	return ok;
}

static void dispatch(struct kg_ctx *c, int generation, const char *name)
{
	const struct kg_route *act;

	if (!name || !*name) {
		kg_reply(c, kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "activity missing"), NULL, NULL);
		return;
	}
	if (!(act = kg_route_find(activities, sizeof activities / sizeof *activities, name, generation))) {
		c->activity = "unknown";
		kg_reply(c, kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "unknown V%d activity", generation),
		         NULL, NULL);
		return;
	}
	c->activity = act->name;
	if (generation == 1 && !v1_in_order(c, act))
		return;
	kg_dispatch(c, act);
}

static void serve(struct kg_ctx *c)
{
	enum kg_result r;

	/* The production address itself: anything below it that no other
	 * program claims is unknown (D12). */
	if (c->req.path_info[0] != '\0' && strcmp(c->req.path_info, "/") != 0) {
		kg_fault(c, 404, KG_V_NOT_FOUND);
	} else if (strcmp(c->req.method, "POST") == 0) {
		json_object *act = NULL;

		if ((r = kg_auth_v2_basic(c)) != KG_OK) {
			kg_reply(c, r, NULL, NULL);
			return;
		}
		json_object_object_get_ex(c->json, "activity", &act);
		if (act && !json_object_is_type(act, json_type_string))
			act = NULL;
		dispatch(c, 2, act ? json_object_get_string(act) : NULL);
	} else if (strcmp(c->req.method, "GET") == 0) {
		if ((r = kg_auth_v1_basic(c)) != KG_OK) {
			kg_reply(c, r, NULL, NULL);
			return;
		}
		dispatch(c, 1, kg_params_get(&c->params, "activity"));
	} else {
		kg_fault(c, 405, KG_V_BAD_METHOD);
	}
}

/* Query Order runs after the marketplace has its answer (D10); what does not
 * finish here is retried by `koogate orders fetch`. */
static void fetch_orders(struct kg_ctx *c)
{
	(void)c;
	if (!kg_cfg.order_fetch_inline || !kg_orders_configured())
		return;
	kg_audit_flush(true);   /* announce the new event before Query Order's seconds */
	(void)kg_orders_fetch_due(2, 4000);
}

int main(void)
{
	static const struct kg_program produce = {
		.name = "produce",
		.family = KG_SCHEME_BASIC,
		.needs_master_key = true,
		.needs_apig = true,
		.serve = serve,
		.follow_up = fetch_orders,
	};
	return kg_main(&produce);
}
