/* SPDX-License-Identifier: ISC */
/* session: who is logged in, for the vendor's app (JSON) or as a small page
 * (?view=page). Renews the access token server-side when it is close to
 * expiry (D26); a failed renewal ends the session.
 *   GET /koogate/session[?view=page] */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "login.h"
#include "response.h"

static bool renew(struct login_session *s)
{
	struct login_tenant t;
	struct login_tokens tok;
	char why[300] = "";
	bool ok = false;

	if (login_tenant(s->tenant_id, &t) != LOGIN_OK) {
		kg_log("session renewal: tenant %s has no usable binding any more", s->tenant_id);
		return false;
	}
	if (login_token(&t, "refresh_token", s->refresh, NULL, &tok, why, sizeof why) == LOGIN_OK)
		ok = login_session_store_tokens(s, &tok);
	else
		kg_log("session renewal failed: %s", why);
	if (ok)
		s->token_left = tok.expires_in;
	login_tokens_free(&tok);
	login_tenant_free(&t);
	return ok;
}

static void no_session(struct kg_ctx *c, bool page, struct kbuf *h)
{
	c->verdict = KG_V_NO_SESSION;
	if (page)
		kg_respond_page(&c->req, 401, h->p, &(struct kg_page_msg){
			.title = "Not logged in", .message = "There is no active session in this browser.",
			.link = "login", .link_text = "Log in" });
	else
		kg_respond_with(&c->req, 401, "application/json;charset=UTF-8", h->p, NULL,
		                "{\"error\":\"no session\"}", 22);
}

static void serve(struct kg_ctx *c)
{
	struct login_session s;
	struct kbuf h = { 0 }, b = { 0 };
	json_object *o;
	const char *view;
	bool page;

	if (!login_begin(c, "session"))
		return;
	view = kg_params_get(&c->params, "view");
	page = view && strcmp(view, "page") == 0;
	login_page_headers(&h);
	if (!login_session_get(&c->req, &s)) {
		no_session(c, page, &h);
		kbuf_free(&h);
		return;
	}
	kg_note_ids(c, s.instance_id, NULL);
	if (strcmp(s.kind, "oauth") == 0 && s.refresh && login_token_needs_renewal(s.token_left, s.token_lifetime) && !renew(&s)) {
		login_session_end(s.id_hash);
		login_cookie_clear(&h, LOGIN_COOKIE);
		no_session(c, page, &h);
		login_session_free(&s);
		kbuf_free(&h);
		return;
	}
	if (page) {
		kg_page_begin(&b, "Logged in", NULL);
		kg_page_text(&b, "<main class=\"box card\"><h1>Logged in</h1>\n<p>Logged in as <b id=\"kg-user\">",
		             s.id.user, "</b> (");
		kg_page_text(&b, "", s.id.name, ") of tenant <span id=\"kg-tenant\">");
		kg_page_text(&b, "", s.tenant_code[0] ? s.tenant_code : s.tenant_id, "</span>, role <span id=\"kg-role\">");
		kg_page_text(&b, "", s.id.role, "</span>.</p>\n<p><a class=\"button\" id=\"kg-logout\" href=\"logout\">"
		             "Log out</a></p></main>\n");
		kg_page_end(&b);
		kg_respond_with(&c->req, 200, "text/html; charset=utf-8", h.p, NULL, b.p, b.len);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "user", json_object_new_string(s.id.user));
		json_object_object_add(o, "name", json_object_new_string(s.id.name));
		json_object_object_add(o, "role", json_object_new_string(s.id.role));
		json_object_object_add(o, "tenant", json_object_new_string(s.tenant_id));
		json_object_object_add(o, "tenantCode", json_object_new_string(s.tenant_code));
		json_object_object_add(o, "org", json_object_new_string(s.id.org));
		json_object_object_add(o, "instanceId", json_object_new_string(s.instance_id));
		json_object_object_add(o, "expiresAt", json_object_new_string(s.expires_at));
		json_object_object_add(o, "kind", json_object_new_string(s.kind));
		if (strcmp(s.kind, "oauth") == 0)
			json_object_object_add(o, "tokenValid", json_object_new_boolean(s.has_token && s.token_left > 0));
		size_t n;
		const char *text = kg_json_text(o, &n);
		kg_respond_with(&c->req, 200, "application/json;charset=UTF-8", h.p, NULL, text, n);
		json_object_put(o);
	}
	login_session_free(&s);
	kbuf_free(&h);
	kbuf_free(&b);
}

int main(void)
{
	static const struct kg_program prog = { .name = "session", .needs_master_key = true, .serve = serve };
	return kg_main(&prog);
}
