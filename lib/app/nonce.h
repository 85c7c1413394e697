/* SPDX-License-Identifier: ISC */
/* The nonce claim (D2): a V2 nonce is claimed in PostgreSQL, once per key
 * family, in the same round trip as the handler's first statement when that
 * one only reads (db.h, the prelude), and settled before any answer. */
#ifndef KG_NONCE_H
#define KG_NONCE_H

#include <stdbool.h>

struct kg_ctx;
struct kg_program;

#define KG_NONCE_MAX 128

/* Once per process: the family's nonce store and the TTL. */
void kg_nonce_init(const struct kg_program *prog);
/* Queues the claim (with the waiting audit rows) as the request's prelude;
 * ts, the signed timestamp, is checked against a database crash (sql/012). */
void kg_nonce_claim(struct kg_ctx *c, const char *nonce, const char *ts);
/* False, with the verdict set and logged, when the request's nonce was
 * already used or could not be checked; true when none was claimed. */
bool kg_nonce_settled(struct kg_ctx *c);

#endif
