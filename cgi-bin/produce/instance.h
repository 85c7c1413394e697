/* SPDX-License-Identifier: ISC */
/* The instance store shared by the activities of both generations. */
#ifndef INSTANCE_H
#define INSTANCE_H

#include <stdbool.h>
#include <json-c/json.h>
#include "app.h"
#include "db.h"

#define INSTANCE_ID_MAX 64

struct new_order {
	int         generation;
	const char *order_id;
	const char *order_line_id;   /* V2 key part */
	const char *product_id;      /* V1 key part */
	const char *business_id;
	bool        test;
	json_object *detail;          /* extra event detail (V1 customer data), may be NULL */
};

/* Idempotent create (D10): the first request's businessId becomes the
 * instanceId; a repeat for the same order key returns the stored id. A new
 * production order the vendor's koogate_capacity refuses is KG_ENORES. */
enum kg_result instance_create(struct kg_ctx *c, const struct new_order *o,
                               char id[INSTANCE_ID_MAX + 1], bool *created);

/* Appends {"instanceId":..,"appInfo":{..}} entries for the ready instances
 * among ids, in request order. Sets *known to the number of ids found (in
 * any state) and *pending to those not yet ready. Test requests get an
 * entry for every id (D19). */
enum kg_result instance_app_infos(struct kg_ctx *c, const char *const *ids, size_t n,
                                  json_object *info, size_t *known, size_t *pending);

/* expireTime yyyyMMddHHmmss (or 17 digits with milliseconds, D42), taken as
 * UTC, into a PostgreSQL timestamptz literal. */
bool parse_expire(const char *raw, char out[32]);

/* Runs one lifecycle function (sql/002) and maps its verdict: 'ok' and
 * 'test-noop' are 000000; 'unknown' is 000003 unless the call is a test
 * (D19, D44); 'no-capacity: why' is 000100 (sql/015); anything else is
 * 000003 too (e.g. upgrading a released one). */
enum kg_result instance_call(struct kg_ctx *c, struct kg_stmt *st, const char *const *params);

#endif
