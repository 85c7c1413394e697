/* SPDX-License-Identifier: ISC */
#include "dispatch.h"
#include "app.h"

#include <stdio.h>
#include <string.h>

const struct kg_route *kg_route_find(const struct kg_route *const *routes, size_t n,
                                     const char *name, int generation)
{
	for (size_t i = 0; i < n; i++)
		if (routes[i]->generation == generation && strcmp(routes[i]->name, name) == 0)
			return routes[i];
	return NULL;
}

/* testFlag "1" marks debugging and dialing-test traffic (D19): a number or a
 * numeric string (D23); absent or empty is "0". NULL when another value. */
static const char *test_flag(struct kg_ctx *c, int generation, bool *ok)
{
	json_object *tf = NULL;
	const char *v;

	if (generation == 1)
		v = kg_params_get(&c->params, "testFlag");
	else
		v = json_object_object_get_ex(c->json, "testFlag", &tf) && tf ? json_object_get_string(tf) : NULL;
	*ok = !v || !*v || strcmp(v, "0") == 0 || strcmp(v, "1") == 0;
	return v;
}

void kg_dispatch(struct kg_ctx *c, const struct kg_route *r)
{
	struct kg_values vals;
	struct kg_answer a = { 0 };
	enum kg_result res;
	char why[160] = "";
	const char *tf;
	bool ok;

	c->activity = r->name;
	if (r->generation == 1) {
		ok = kg_fields_params(r->fields, r->nfields, &c->params, &vals, why, sizeof why);
	} else {
		if (r->normalise)
			r->normalise(c->json);
		ok = kg_fields_json(r->fields, r->nfields, c->json, &vals, why, sizeof why);
	}
	if (!ok) {
		kg_reply(c, kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "%s", why), NULL, NULL);
		return;
	}
	tf = test_flag(c, r->generation, &ok);
	if (!ok) {
		kg_reply(c, kg_refuse(c, KG_EPARAM, KG_V_BAD_REQUEST, "testFlag has an unknown value"), NULL, NULL);
		return;
	}
	c->test = tf && strcmp(tf, "1") == 0;
	a.out = json_object_new_object();
	res = r->handle(c, &vals, &a);
	if (res == KG_OK && c->prog->ok_msg)
		a.msg = c->prog->ok_msg;
	kg_reply(c, res, a.msg, a.out);
	json_object_put(a.out);
}
