/* produce: authentication per generation, then dispatch by activity. */
#include <stdio.h>
#include <string.h>

#include "produce.h"
#include "db.h"
#include "log.h"
#include "config.h"
#include "orders.h"
#include "response.h"

static const struct activity *const activities[] = {
	&v2_new_instance, &v2_query_instance, &v2_refresh_instance, &v2_update_instance_status,
	&v2_release_instance, &v2_upgrade_instance, &v2_change_instance_check,
	&v1_new_instance, &v1_query_instance, &v1_refresh_instance, &v1_expire_instance,
	&v1_release_instance, &v1_upgrade, &v1_instance_status,
};

static const struct activity *find_activity(const char *name, int generation)
{
	for (size_t i = 0; i < sizeof activities / sizeof *activities; i++)
		if (activities[i]->generation == generation && strcmp(activities[i]->name, name) == 0)
			return activities[i];
	return NULL;
}

/* testFlag "1" marks debugging and dialing-test traffic (D19); absent is "0". */
static bool read_test_flag(const char *v, bool *test)
{
	*test = v && strcmp(v, "1") == 0;
	return !v || *v == '\0' || strcmp(v, "0") == 0 || strcmp(v, "1") == 0;
}

static struct kg_stmt q_v1_order = KG_STMT(v1_in_order, 2, "SELECT koogate_v1_in_order($1, $2)");

/* V1 has no nonce, and its authToken travels in the URL: a state change read
 * from a log could be replayed within v1_max_age and undo a later one. One
 * older than the instance's last V1 change is refused (sql/012); a retry
 * carries the same timeStamp and passes. */
static bool v1_in_order(struct kg_ctx *c, const struct activity *act)
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
	if (!(res = kg_db_exec(&q_v1_order, p))) {
		c->verdict = "db-error";
		kg_reply(c, KG_EINTERNAL, NULL, NULL);
		return false;
	}
	ok = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!ok) {
		c->verdict = "stale";
		kg_log("refused: V1 %s is older than the last V1 change of instance %s (a replay?)", act->name, p[0]);
		kg_reply(c, KG_EAUTH, NULL, NULL);
	}
	return ok;
}

static void dispatch(struct kg_ctx *c, int generation, const char *name)
{
	const struct activity *act;
	struct kg_values vals;
	struct answer a = { 0 };
	enum kg_result res;
	char why[160] = "";
	bool ok;

	if (!name || !*name) {
		c->verdict = "bad-request";
		kg_log("refused: activity missing");
		kg_reply(c, KG_EPARAM, NULL, NULL);
		return;
	}
	if (!(act = find_activity(name, generation))) {
		c->activity = "unknown";
		c->verdict = "bad-request";
		kg_log("refused: unknown V%d activity", generation);
		kg_reply(c, KG_EPARAM, NULL, NULL);
		return;
	}
	c->activity = act->name;
	if (generation == 2) {
		json_object *tf = NULL;

		if (act->normalise)
			act->normalise(c->json);
		ok = kg_fields_json(act->fields, act->nfields, c->json, &vals, why, sizeof why);
		if (ok && json_object_object_get_ex(c->json, "testFlag", &tf) && tf &&
		    !read_test_flag(json_object_get_string(tf), &c->test)) {
			snprintf(why, sizeof why, "testFlag has an unknown value");
			ok = false;
		}
	} else {
		ok = kg_fields_params(act->fields, act->nfields, &c->params, &vals, why, sizeof why) &&
		     read_test_flag(kg_params_get(&c->params, "testFlag"), &c->test);
		if (!ok && !*why)
			snprintf(why, sizeof why, "testFlag has an unknown value");
	}
	if (!ok) {
		c->verdict = "bad-request";
		kg_log("refused: %s", why);
		kg_reply(c, KG_EPARAM, NULL, NULL);
		return;
	}
	if (generation == 1 && !v1_in_order(c, act))
		return;
	a.out = json_object_new_object();
	res = act->handle(c, &vals, &a);
	kg_reply(c, res, a.msg, a.out);
	json_object_put(a.out);
}

static void serve(struct kg_ctx *c)
{
	/* The production address itself: anything below it that no other
	 * program claims is unknown (D12). */
	if (c->req.path_info[0] != '\0' && strcmp(c->req.path_info, "/") != 0) {
		c->verdict = "not-found";
		kg_respond_status(&c->req, 404);
		return;
	}
	if (strcmp(c->req.method, "POST") == 0) {
		json_object *act = NULL;

		if (!kg_auth_v2_basic(c))
			return;
		json_object_object_get_ex(c->json, "activity", &act);
		if (act && !json_object_is_type(act, json_type_string))
			act = NULL;
		dispatch(c, 2, act ? json_object_get_string(act) : NULL);
	} else if (strcmp(c->req.method, "GET") == 0) {
		if (!kg_auth_v1_basic(c))
			return;
		dispatch(c, 1, kg_params_get(&c->params, "activity"));
	} else {
		c->verdict = "bad-method";
		kg_respond_status(&c->req, 405);
	}
}

/* Query Order runs after the marketplace has its answer (D10); what does not
 * finish here is retried by `koogate orders fetch`. */
static void fetch_orders(struct kg_ctx *c)
{
	(void)c;
	if (kg_cfg.order_fetch_inline && kg_orders_configured())
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
