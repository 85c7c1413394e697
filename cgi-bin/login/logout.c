/* SPDX-License-Identifier: ISC */
/* logout: ends the local session, clears the cookie, then sends the browser
 * to the IdP so both sides are logged out (login.md §9): the OAuth global
 * logout, or the CAS logout for CAS sessions.
 *   GET|POST /koogate/logout */
#include <string.h>

#include "app.h"
#include "config.h"
#include "login.h"
#include "response.h"

static void serve(struct kg_ctx *c)
{
	struct login_session s;
	struct kbuf h = { 0 }, loc = { 0 };
	const char *after = kg_cfg.logout_redirect_url;

	c->activity = "logout";
	if (strcmp(c->req.method, "GET") != 0 && strcmp(c->req.method, "POST") != 0) {
		kg_respond_status(&c->req, 405);
		return;
	}
	login_cookie_clear(&h, LOGIN_COOKIE);
	if (!login_session_get(&c->req, &s)) {
		c->verdict = KG_V_NO_SESSION;
		if (*after)
			kg_respond_redirect(&c->req, after, h.p);
		else
			kg_respond_page(&c->req, 200, login_page_headers(&h), &(struct kg_page_msg){
				.title = "Logged out", .message = "You are logged out.",
				.link = "login", .link_text = "Log in again" });
		kbuf_free(&h);
		return;
	}
	kg_note_ids(c, s.instance_id, NULL);
	login_session_end(s.id_hash);
	if (strcmp(s.kind, "cas") == 0) {
		kbuf_printf(&loc, "%s/api/v1/cas/logout", s.domain);
		if (*after) {
			kbuf_puts(&loc, "?service=");
			login_url_encode(&loc, after);
		}
	} else {
		kbuf_printf(&loc, "%s/api/v1/logout", s.domain);
		if (*after) {
			kbuf_puts(&loc, "?redirect_url=");
			login_url_encode(&loc, after);
		}
	}
	kg_respond_redirect(&c->req, loc.p, h.p);
	login_session_free(&s);
	kbuf_free(&h);
	kbuf_free(&loc);
}

int main(void)
{
	static const struct kg_program prog = { .name = "logout", .needs_master_key = true, .serve = serve };
	return kg_main(&prog);
}
