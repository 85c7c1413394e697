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
};

/* Pushes due records until none is left or max records were handled.
 * progress: print a line per batch to stdout. Returns false on a database
 * failure. */
bool kg_usage_push(long max, bool progress, struct kg_push_stats *st);
/* Records still pending, -1 on a database failure. */
long kg_usage_left(void);
/* Builds the signed header values of the new push for body (tests use it
 * with fixed ts and nonce). */
void kg_usage_signature(const char *key, const char *ts, const char *nonce, const char *body, size_t n,
                        struct kbuf *out);

#endif
