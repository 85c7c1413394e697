/* SPDX-License-Identifier: ISC */
/* Query Order enrichment (usage-and-open-api.md §4, D10): the orders that
 * instance_order marks 'pending' are fetched from KooGallery after the
 * marketplace has had its answer, retried with back-off, and applied. */
#ifndef KG_ORDERS_H
#define KG_ORDERS_H

#include <stdbool.h>
#include "buf.h"

enum kg_fetch { KG_FETCH_OK, KG_FETCH_RETRY, KG_FETCH_PERMANENT };

/* One signed Query Order call, with the fallback host on a connection
 * failure. The body of a success is appended to out; why explains others. */
enum kg_fetch kg_query_order(const char *order_id, const char *order_line_id,
                             struct kbuf *out, char *why, size_t whylen);
/* Works through due fetches, at most max of them and for at most budget_ms.
 * Returns how many were attempted, or -1 if the database failed. */
int kg_orders_fetch_due(int max, long budget_ms);
bool kg_orders_configured(void);

#endif
