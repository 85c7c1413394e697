/* SPDX-License-Identifier: ISC */
/* Pay-per-use usage push (usage-and-open-api.md §2, §3; D9, D35–D40):
 * pending records go out in batches of at most 100, signed, with back-off,
 * the fallback host, and row locks so that concurrent pushers never send a
 * record twice. */
#ifndef KG_USAGE_H
#define KG_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

#define KG_USAGE_BATCH 100
#define KG_USAGE_PATH "/api/mkp-openapi-public/global/v1/isv/usage-data"

struct kg_push_stats {
	long batches, sent, accepted, rejected, expired, deferred;
	long held;          /* refused for the configuration, kept for a person */
	long requeued;      /* held records queued again: the configuration changed */
};

/* Records not sent: pending in closed windows (due), pending in windows that
 * have not closed yet (open), and held for a person. */
struct kg_usage_backlog {
	long due, open, held;
};

/* Pushes due records (pending, in closed windows) until none is left or max
 * records were handled. Held records whose push configuration has changed go
 * back to pending first.
 * progress: print a line per batch to stdout. Returns false on a database
 * failure. */
bool kg_usage_push(long max, bool progress, struct kg_push_stats *st);
/* The backlog; false on a database failure. */
bool kg_usage_left(struct kg_usage_backlog *b);
/* Held records back to pending (instance: NULL for all): every one (all), or
 * those held under another push configuration than the current one. Returns
 * how many, -1 on a database failure. */
long kg_usage_requeue(bool all, const char *instance);
/* Builds the signed header values of the new push for body (tests use it
 * with fixed ts and nonce). */
void kg_usage_signature(const char *key, const char *ts, const char *nonce, const char *body, size_t n,
                        struct kbuf *out);

#endif
