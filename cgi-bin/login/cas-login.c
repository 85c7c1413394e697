/* SPDX-License-Identifier: ISC */
/* cas-login: starts a CAS login at the tenant's IdP (login.md §10.1).
 *   GET /koogate/cas-login?tenant=T */
#include <string.h>

#include "app.h"
#include "config.h"
#include "login.h"
#include "response.h"

static void serve(struct kg_ctx *c)
{
	struct login_tenant t;
	struct kbuf service = { 0 }, loc = { 0 };
	const char *tenant;
	enum login_err e;

	if (!login_begin(c, "cas-login"))
		return;
	tenant = kg_params_get(&c->params, "tenant");
	if (!tenant || !*tenant)
		tenant = kg_cfg.cas_tenant;
	if (kg_config_login_problem("cas")) {
		login_fail(c, LOGIN_INTERNAL, kg_config_login_problem("cas"));
		return;
	}
	if ((e = login_tenant(tenant, &t)) != LOGIN_OK) {
		login_fail(c, e, "no tenant binding with app credentials for the tenant given");
		return;
	}
	/* The callback carries the tenant, as the workbench's does (D27). */
	kbuf_printf(&service, "%s%stenant=", kg_cfg.cas_callback_url, strchr(kg_cfg.cas_callback_url, '?') ? "&" : "?");
	login_url_encode(&service, t.tenant_id);
	kbuf_printf(&loc, "%s/api/v1/cas/login?service=", t.domain);
	login_url_encode(&loc, service.p);
	kg_note_ids(c, t.instance_id, NULL);
	kg_respond_redirect(&c->req, loc.p, NULL);
	login_tenant_free(&t);
	kbuf_free(&service);
	kbuf_free(&loc);
}

int main(void)
{
	static const struct kg_program prog = { .name = "cas-login", .needs_master_key = true, .serve = serve };
	return kg_main(&prog);
}
