/* SPDX-License-Identifier: ISC */
#include "nonce.h"
#include "app.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "log.h"

#include <stdio.h>

/* The claim's parameters: family and TTL are set once per process; the nonce
 * is the request's own copy, since the prelude runs after auth returns. */
static struct {
	const char *params[5];
	char        ttl[16];
	char        nonce[KG_NONCE_MAX + 1];
	char        ts[24];
} claim;

void kg_nonce_init(const struct kg_program *prog)
{
	claim.params[0] = prog->family == KG_SCHEME_KIT ? "kit" : "basic";   /* one nonce store per family */
	claim.params[1] = claim.nonce;
	claim.params[2] = claim.ttl;
	claim.params[4] = claim.ts;
	snprintf(claim.ttl, sizeof claim.ttl, "%d", kg_cfg.nonce_ttl > 2 * kg_cfg.v2_window ?
	         kg_cfg.nonce_ttl : 2 * kg_cfg.v2_window);
}

void kg_nonce_claim(struct kg_ctx *c, const char *nonce, const char *ts)
{
	snprintf(claim.nonce, sizeof claim.nonce, "%s", nonce);
	snprintf(claim.ts, sizeof claim.ts, "%s", ts);
	claim.params[3] = kg_audit_batch();
	kg_db_prelude(&c->tx, &kg_bookkeeping, &kg_bookkeeping_in_write, claim.params);
}

bool kg_nonce_settled(struct kg_ctx *c)
{
	enum kg_prelude o = kg_db_prelude_settle(&c->tx);
	enum kg_verdict verdict = o == KG_PRELUDE_FALSE ? KG_V_REPLAY : KG_V_DB_ERROR;

	/* The audit rows the claim carried are written, unless its in-write
	 * form refused: that rolled them back with the write. */
	if (o == KG_PRELUDE_TRUE || (o == KG_PRELUDE_FALSE && !c->tx.in_write))
		kg_audit_carried();
	if (o == KG_PRELUDE_NONE || o == KG_PRELUDE_TRUE)
		return true;
	if (c->verdict != verdict) {   /* say it once */
		c->verdict = verdict;
		/* False is also a request signed before a database crash or
		 * promotion, inside the window after it (sql/012, sql/022). */
		kg_log("refused: %s", o == KG_PRELUDE_FALSE ? "nonce already used, or signed before the"
		                                              " database's last crash or failover"
		                                            : "database unavailable for the nonce check");
	}
	return false;
}
