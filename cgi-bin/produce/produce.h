/* SPDX-License-Identifier: ISC */
/* produce: the production address. KooGallery multiplexes every basic
 * interface on this one URL, V2 as POST JSON and V1 as GET query; each
 * activity is one row of the dispatch table and one source file. */
#ifndef PRODUCE_H
#define PRODUCE_H

#include <json-c/json.h>
#include "app.h"
#include "fields.h"

/* What a handler answers: a result, optionally a message, and the extra
 * members of a successful answer (in out). */
struct answer {
	json_object *out;
	const char  *msg;
};

typedef enum kg_result (*activity_fn)(struct kg_ctx *c, const struct kg_values *v, struct answer *a);

struct activity {
	const char            *name;
	int                    generation;   /* 1: V1 GET, 2: V2 POST */
	const struct kg_field *fields;
	size_t                 nfields;
	activity_fn            handle;
	/* optional: rewrite tolerated legacy shapes before validation (D50) */
	void                 (*normalise)(json_object *body);
};

#define ACTIVITY(n, gen, tab, fn, ...) { n, gen, tab, KG_NFIELDS(tab), fn, __VA_ARGS__ }

extern const struct activity
	v2_new_instance, v2_query_instance, v2_refresh_instance, v2_update_instance_status,
	v2_release_instance, v2_upgrade_instance, v2_change_instance_check,
	v1_new_instance, v1_query_instance, v1_refresh_instance, v1_expire_instance,
	v1_release_instance, v1_upgrade, v1_instance_status;

/* Shared by V1 and V2 queryInstance. */
enum kg_result query_instances(struct kg_ctx *c, const char *list, struct answer *a);

#endif
