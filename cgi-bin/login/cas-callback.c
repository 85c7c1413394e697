/* SPDX-License-Identifier: ISC */
/* cas-callback: validates a CAS service ticket at once, and only once
 * (login.md §10.2, D11, D27, D28), then starts the local session.
 *   GET /koogate/cas-callback?ticket=ST-...[&tenant=T] */
#include <string.h>

#include "app.h"
#include "config.h"
#include "login.h"
#include "response.h"

/* service = the callback URL exactly as requested, minus the ticket (D27). */
static void service_url(const char *query, struct kbuf *out)
{
	const char *base = kg_cfg.cas_callback_url, *q = strchr(base, '?');
	bool first = true;

	kbuf_put(out, base, q ? (size_t)(q - base) : strlen(base));
	while (*query) {
		size_t len = strcspn(query, "&");

		if (len && strncmp(query, "ticket=", 7) != 0 && strncmp(query, "ticket&", 7) != 0 &&
		    !(len == 6 && strncmp(query, "ticket", 6) == 0)) {
			kbuf_putc(out, first ? '?' : '&');
			kbuf_put(out, query, len);
			first = false;
		}
		query += len + (query[len] == '&');
	}
}

static void serve(struct kg_ctx *c)
{
	struct login_tenant t;
	struct login_identity id;
	struct kbuf service = { 0 };
	const char *ticket, *tenant;
	char why[300] = "";
	enum login_err e;

	if (!login_begin(c, "cas-callback"))
		return;
	ticket = kg_params_get(&c->params, "ticket");
	tenant = kg_params_get(&c->params, "tenant");
	if (!tenant || !*tenant)
		tenant = kg_cfg.cas_tenant;
	if (!ticket || !*ticket || strlen(ticket) > 1024) {
		login_fail(c, LOGIN_UNKNOWN_TENANT, "CAS callback without a ticket");
		return;
	}
	if ((e = login_tenant(tenant, &t)) != LOGIN_OK) {
		login_fail(c, e, "no tenant binding with app credentials for the CAS tenant");
		return;
	}
	service_url(c->req.query, &service);
	if ((e = login_cas_validate(&t, service.p, ticket, &id, why, sizeof why)) != LOGIN_OK)
		login_fail(c, e, why);
	else
		login_finish(c, &t, &id, "cas", NULL, NULL);
	login_tenant_free(&t);
	kbuf_free(&service);
}

int main(void)
{
	static const struct kg_program prog = { .name = "cas-callback", .needs_master_key = true, .serve = serve };
	return kg_main(&prog);
}
