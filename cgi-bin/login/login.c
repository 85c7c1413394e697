/* SPDX-License-Identifier: ISC */
/* login: starts a buyer login (login.md §3, §5). Web mode sends the browser
 * to KooGallery's unified login page; workbench mode to the tenant's
 * authorize endpoint with a one-time state bound to this browser.
 *   GET /koogate/login[?mode=web|workbench][&tenant=T][&next=/path] */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "login.h"
#include "response.h"

#define STATE_TTL 600

static struct kg_stmt q_state = KG_STMT(login_state_new, 6,
	"INSERT INTO login_state (state_hash, browser_hash, instance_id, tenant_id, redirect_uri, next_url,"
	" expires_at) VALUES (encode(sha256(convert_to($1, 'UTF8')), 'hex'),"
	" encode(sha256(convert_to($2, 'UTF8')), 'hex'), $3, $4, $5, $6, now() + interval '600 seconds')");

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void web(struct kg_ctx *c, const char *next)
{
	struct kbuf url = { 0 }, h = { 0 };
	const char *t = kg_cfg.login_unified_url, *mark;

	while ((mark = strstr(t, "{appId}"))) {
		kbuf_put(&url, t, (size_t)(mark - t));
		login_url_encode(&url, kg_cfg.app_id);
		t = mark + 7;
	}
	kbuf_puts(&url, t);
	/* The unified login page carries no state, so the way back is a cookie. */
	if (next) {
		struct kbuf enc = { 0 };
		login_url_encode(&enc, next);
		login_cookie_set(&h, "kg_next", enc.p, STATE_TTL);
		kbuf_free(&enc);
	}
	kg_respond_redirect(&c->req, url.p, h.p);
	kbuf_free(&url);
	kbuf_free(&h);
}

static void workbench(struct kg_ctx *c, const char *tenant, const char *next)
{
	struct login_tenant t;
	struct kbuf url = { 0 }, h = { 0 };
	char state[33], bind[33];
	enum login_err e;

	if ((e = login_tenant(tenant, &t)) != LOGIN_OK) {
		login_fail(c, e, "no tenant binding with app credentials for the tenant given");
		return;
	}
	kg_random_chars(state, 32, alnum);        /* about 190 bits, letters and digits */
	kg_random_chars(bind, 32, alnum);
	const char *p[6] = { state, bind, t.instance_id, t.tenant_id, kg_cfg.login_callback_url, next };
	if (kg_db_run(&c->tx, &q_state, p) != 1) {
		login_tenant_free(&t);
		login_fail(c, LOGIN_INTERNAL, "the login state could not be stored");
		return;
	}
	kbuf_printf(&url, "%s/api/v1/oauth2/authorize?response_type=code&client_id=", t.domain);
	login_url_encode(&url, t.client_id);
	kbuf_puts(&url, "&redirect_uri=");
	login_url_encode(&url, kg_cfg.login_callback_url);
	kbuf_printf(&url, "&scope=get_user_info&state=%s", state);
	login_cookie_set(&h, LOGIN_BIND_COOKIE, bind, STATE_TTL);
	kg_note_ids(c, t.instance_id, NULL);
	kg_respond_redirect(&c->req, url.p, h.p);
	login_tenant_free(&t);
	kbuf_free(&url);
	kbuf_free(&h);
}

static void serve(struct kg_ctx *c)
{
	const char *mode, *next;

	if (!login_begin(c, "login"))
		return;
	mode = kg_params_get(&c->params, "mode");
	next = login_safe_next(kg_params_get(&c->params, "next"));
	if (!mode || !*mode)
		mode = kg_cfg.login_mode;
	if ((strcmp(mode, "workbench") == 0 || strcmp(mode, "web") == 0) && kg_config_login_problem(mode))
		login_fail(c, LOGIN_INTERNAL, kg_config_login_problem(mode));
	else if (strcmp(mode, "workbench") == 0)
		workbench(c, kg_params_get(&c->params, "tenant"), next);
	else if (strcmp(mode, "web") == 0)
		web(c, next);
	else
		login_fail(c, LOGIN_UNKNOWN_TENANT, "unknown login mode");
}

/* Said at start, before a buyer meets it (its socket unit and lighttpd start
 * the program with the server; mod_fcgid at the first request; koogate
 * status says it too). */
static const char *config_problem(void)
{
	return kg_config_login_problem(kg_cfg.login_mode);
}

int main(void)
{
	static const struct kg_program prog = { .name = "login", .needs_master_key = true, .serve = serve,
	                                         .config_problem = config_problem };
	return kg_main(&prog);
}
