/* SPDX-License-Identifier: ISC */
/* callback: the OAuth redirect target (login.md §4). Exchanges the one-time
 * code with the tenant's own client credentials, reads userinfo, checks the
 * user and starts the local session.
 *   GET /koogate/callback?code=C&tenant=T[&state=S] */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "login.h"
#include "response.h"

/* One row when this server issued the state (consumed: true if it was
 * pending, unexpired and bound to this browser), none when it never did. */
static struct kg_stmt q_consume = KG_STMT(login_state_use, 2,
	"WITH h AS (SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex') AS state_hash),"
	" u AS (UPDATE login_state SET used_at = now()"
	"  WHERE state_hash = (SELECT state_hash FROM h)"
	"    AND browser_hash = encode(sha256(convert_to($2, 'UTF8')), 'hex')"
	"    AND used_at IS NULL AND expires_at > now()"
	"  RETURNING state_hash, tenant_id, redirect_uri, next_url)"
	" SELECT u.state_hash IS NOT NULL, u.tenant_id, u.redirect_uri, COALESCE(u.next_url, '')"
	" FROM login_state s LEFT JOIN u USING (state_hash) WHERE s.state_hash = (SELECT state_hash FROM h)");

/* Restarts the login once on invalid_grant (login.md §4 step 8). */
static void retry_once(struct kg_ctx *c, const char *tenant, bool workbench, const char *why)
{
	char flag[4];
	struct kbuf loc = { 0 }, h = { 0 };

	if (kg_req_cookie(&c->req, "kg_retry", flag, sizeof flag)) {
		login_fail(c, LOGIN_RETRY, why);
		return;
	}
	kg_log("login: %s; restarting the login once", why);
	login_cookie_set(&h, "kg_retry", "1", 60);
	kbuf_printf(&loc, "login?mode=%s", workbench ? "workbench" : "web");
	if (workbench) {
		kbuf_puts(&loc, "&tenant=");
		login_url_encode(&loc, tenant);
	}
	kg_respond_redirect(&c->req, loc.p, h.p);
	kbuf_free(&loc);
	kbuf_free(&h);
}

static void serve(struct kg_ctx *c)
{
	const char *code, *tenant, *state;
	char bind[64] = "", next_cookie[1200] = "", tenant_buf[65], redirect[1024], next[600] = "";
	struct login_tenant t;
	struct login_tokens tok;
	struct login_identity id;
	char why[300] = "";
	enum login_err e;
	bool have_redirect = false;

	if (!login_begin(c, "callback"))
		return;
	code = kg_params_get(&c->params, "code");
	tenant = kg_params_get(&c->params, "tenant");
	state = kg_params_get(&c->params, "state");
	if (!code || !*code || strlen(code) > 512) {
		login_fail(c, LOGIN_UNKNOWN_TENANT, "callback without a code");
		return;
	}
	if (state) {
		/* D31: a state we issued must be pending, unexpired, unused and
		 * from this browser; one we never issued (a workbench's own)
		 * proves nothing either way and counts as absent. */
		PGresult *res;
		const char *p[2] = { state, bind };

		kg_req_cookie(&c->req, LOGIN_BIND_COOKIE, bind, sizeof bind);
		if (!(res = kg_db_exec(&c->tx, &q_consume, p))) {
			login_fail(c, LOGIN_INTERNAL, "database");
			return;
		}
		if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			PQclear(res);
			c->verdict = KG_V_BAD_STATE;
			login_fail(c, LOGIN_UNKNOWN_TENANT, "state expired, reused or from another browser");
			return;
		}
		if (PQntuples(res) == 1) {
			snprintf(tenant_buf, sizeof tenant_buf, "%s", PQgetvalue(res, 0, 1));
			snprintf(redirect, sizeof redirect, "%s", PQgetvalue(res, 0, 2));
			snprintf(next, sizeof next, "%s", PQgetvalue(res, 0, 3));
			tenant = tenant_buf;
			have_redirect = true;
		} else {
			kg_log("login: a state this server did not issue is ignored (D31)");
			state = NULL;
		}
		PQclear(res);
	}
	if (!state) {
		struct kbuf dec = { 0 };

		if (kg_req_cookie(&c->req, "kg_next", next_cookie, sizeof next_cookie) &&
		    kg_url_decode(next_cookie, strlen(next_cookie), KG_URL_PERCENT, &dec) && dec.p)
			snprintf(next, sizeof next, "%s", dec.p);
		kbuf_free(&dec);
	}
	if ((e = login_tenant(tenant, &t)) != LOGIN_OK) {
		snprintf(why, sizeof why, "no tenant binding with app credentials for tenant %.64s",
		         tenant ? tenant : "(none)");
		login_fail(c, e, why);
		return;
	}
	/* D32: redirect_uri only when we sent one at authorize. */
	e = login_token(&t, "authorization_code", code, have_redirect ? redirect : NULL, &tok, why, sizeof why);
	if (e == LOGIN_RETRY) {
		retry_once(c, t.tenant_id, have_redirect, why);
	} else if (e != LOGIN_OK) {
		login_fail(c, e, why);
	} else if ((e = login_userinfo(&t, tok.access, &id, why, sizeof why)) != LOGIN_OK) {
		login_fail(c, e, why);
	} else {
		login_finish(c, &t, &id, "oauth", &tok, next);
	}
	login_tokens_free(&tok);
	login_tenant_free(&t);
}

int main(void)
{
	static const struct kg_program prog = { .name = "callback", .needs_master_key = true, .serve = serve };
	return kg_main(&prog);
}
