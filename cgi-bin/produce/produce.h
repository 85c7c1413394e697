/* SPDX-License-Identifier: ISC */
/* produce: the production address. KooGallery multiplexes every basic
 * interface on this one URL, V2 as POST JSON and V1 as GET query; each
 * activity is one row of the dispatch table and one source file. */
#ifndef PRODUCE_H
#define PRODUCE_H

#include <json-c/json.h>
#include "app.h"
#include "dispatch.h"
#include "fields.h"

/* An activity is a route (dispatch.h): generation 1 is V1 GET, 2 is V2 POST. */
#define ACTIVITY(n, gen, tab, fn, ...) KG_ROUTE(n, gen, tab, fn, __VA_ARGS__)

extern const struct kg_route
	v2_new_instance, v2_query_instance, v2_refresh_instance, v2_update_instance_status,
	v2_release_instance, v2_upgrade_instance, v2_change_instance_check,
	v1_new_instance, v1_query_instance, v1_refresh_instance, v1_expire_instance,
	v1_release_instance, v1_upgrade, v1_instance_status;

/* Shared by V1 and V2 queryInstance. */
enum kg_result query_instances(struct kg_ctx *c, const char *list, struct kg_answer *a);

#endif
