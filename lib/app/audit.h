/* SPDX-License-Identifier: ISC */
/* The audit rows (inbound_call, sql/010): one per call, queued as a JSON
 * array and written in batches with the process's nonce claims, or on their
 * own when the process is idle, the queue full or its oldest row too old. */
#ifndef KG_AUDIT_H
#define KG_AUDIT_H

#include <stdbool.h>
#include "db.h"

struct kg_ctx;

#define KG_AUDIT_IDLE_MS 50     /* no new request this long: write them */

/* (family, nonce, ttl, rows, signed timestamp): the nonce claim and the
 * queued rows in one statement; with a NULL nonce, the rows alone. */
extern struct kg_stmt kg_bookkeeping, kg_bookkeeping_in_write;

/* The queued rows as a JSON array for a call to carry, or NULL when none. */
const char *kg_audit_rows(void);
/* The same, for a nonce claim to carry: only once a batch has queued. */
const char *kg_audit_batch(void);
/* The call that carried them ran (whatever its answer): forget them. */
void kg_audit_carried(void);
/* How many rows wait. */
unsigned kg_audit_pending(void);
/* This call's row joins the queue; a full or old queue is written now. */
void kg_audit_add(const struct kg_ctx *c, double ms);
/* Writes the queued rows on their own; with always, even none (for the
 * NOTIFY of events just written). */
void kg_audit_flush(bool always);

#endif
