/* SPDX-License-Identifier: ISC */
/* One dispatcher for the programs that serve several routes with field
 * tables (after cgit's def_cmd table): produce's activities and the Kit
 * interfaces. A route names its fields and its handler; kg_dispatch
 * validates the fields, reads testFlag, calls the handler and answers. */
#ifndef KG_DISPATCH_H
#define KG_DISPATCH_H

#include <stddef.h>
#include <json-c/json.h>
#include "fields.h"
#include "result.h"

struct kg_ctx;

/* What a handler answers besides its result: a message (NULL: the standard
 * one) and the extra members of a successful answer (in out). */
struct kg_answer {
	json_object *out;
	const char  *msg;
};

typedef enum kg_result (*kg_handler)(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a);

struct kg_route {
	const char            *name;
	int                    generation;   /* 1: fields from the V1 query; 2: from the JSON body */
	const struct kg_field *fields;
	size_t                 nfields;
	kg_handler             handle;
	/* optional: rewrite tolerated legacy shapes before validation (D50) */
	void                 (*normalise)(json_object *body);
};

/* A route; its field table must fit struct kg_values (checked at compile time). */
#define KG_ROUTE(n, gen, tab, fn, ...) \
	{ n, gen, tab, KG_NFIELDS(tab) + 0 * sizeof(struct { \
		_Static_assert(KG_NFIELDS(tab) <= KG_FIELDS_MAX, "field table larger than kg_values"); int ok_; }), \
	  fn, __VA_ARGS__ }

/* The route of that name and generation in a table, or NULL. */
const struct kg_route *kg_route_find(const struct kg_route *const *routes, size_t n,
                                     const char *name, int generation);
/* Fields, testFlag (D19, D23), the handler, the answer. */
void kg_dispatch(struct kg_ctx *c, const struct kg_route *r);

#endif
