/* SPDX-License-Identifier: ISC */
/* V2 newInstance (basic-interfaces.md §5.1, D10, D50): answer at once with
 * the instanceId of the order line, creating it on first sight. */
#include "produce.h"
#include "instance.h"

enum { NI_ORDER_ID, NI_ORDER_LINE_ID, NI_BUSINESS_ID, NI__MAX };

static const struct kg_field fields[NI__MAX] = {
	[NI_ORDER_ID]      = { "orderId",     KG_F_REQUIRED, 64, NULL },
	[NI_ORDER_LINE_ID] = { "orderLineId", KG_F_PRESENT,  64, NULL },
	[NI_BUSINESS_ID]   = { "businessId",  KG_F_REQUIRED, 64, NULL },
};

/* D50: the legacy body carries the ids in orderInfo[0]. */
static void from_legacy_order_info(json_object *body)
{
	static const char *const names[] = { "orderId", "businessId", "orderLineId" };
	json_object *info, *first, *v;

	if (json_object_object_get_ex(body, "orderId", NULL) &&
	    json_object_object_get_ex(body, "businessId", NULL))
		return;
	if (!json_object_object_get_ex(body, "orderInfo", &info) ||
	    !json_object_is_type(info, json_type_array) ||
	    !(first = json_object_array_get_idx(info, 0)) ||
	    !json_object_is_type(first, json_type_object))
		return;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!json_object_object_get_ex(body, names[i], NULL))
			json_object_object_add(body, names[i],
			    json_object_object_get_ex(first, names[i], &v) ? json_object_get(v)
			                                                  : json_object_new_string(""));
}

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	struct new_order o = {
		.generation = 2,
		.order_id = v->v[NI_ORDER_ID],
		.order_line_id = v->v[NI_ORDER_LINE_ID],
		.business_id = v->v[NI_BUSINESS_ID],
		.test = c->test,
	};
	char id[INSTANCE_ID_MAX + 1];
	bool created;
	enum kg_result r;

	kg_note_ids(c, NULL, o.order_id);
	if ((r = instance_create(c, &o, id, &created)) == KG_OK)
		json_object_object_add(a->out, "instanceId", json_object_new_string(id));
	c->follow_up = created;
	return r;
}

const struct kg_route v2_new_instance =
	ACTIVITY("newInstance", 2, fields, handle, from_legacy_order_info);
