/* SPDX-License-Identifier: ISC */
/* usage: records pay-per-use usage for apps that do not talk to PostgreSQL.
 * Authenticated with the bearer token usage_token (closed when it is empty).
 *   POST /koogate/usage  Authorization: Bearer T
 *   {"instanceId":"…","value":"12.5","begin":"2026-11-30T05:00:00Z","end":"2026-11-30T06:00:00Z",
 *    "meter":"…","package":"…","correct":false}     ("at" instead of begin/end: its usage_window)
 * Answers 200 {"meteringSn":"…"}, 400/409 {"error":"…"}, 401. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "ck.h"
#include "config.h"
#include "db.h"
#include "fields.h"
#include "log.h"
#include "response.h"

/* The window of "at" is koogate_usage_window's (sql/022), as for `usage add --at`. */
static struct kg_stmt q_add = KG_STMT(usage_add, 9,
	"SELECT koogate_usage_add($1, w.w_begin, w.w_end, $5::numeric, COALESCE($6, ''), $7, $9::boolean)"
	" FROM koogate_usage_window($2::timestamptz, $3::timestamptz, $4::timestamptz, $8::int) w");

enum { U_INSTANCE, U_VALUE, U_AT, U_BEGIN, U_END, U_METER, U_PACKAGE, U_CORRECT, U__MAX };

static const char *const booleans[] = { "true", "false", NULL };

static const struct kg_field fields[U__MAX] = {
	[U_INSTANCE] = { "instanceId", KG_F_REQUIRED, 64,  NULL },
	[U_VALUE]    = { "value",      KG_F_REQUIRED, 20,  NULL },
	[U_AT]       = { "at",         0,             40,  NULL },
	[U_BEGIN]    = { "begin",      0,             40,  NULL },
	[U_END]      = { "end",        0,             40,  NULL },
	[U_METER]    = { "meter",      0,             64,  NULL },
	[U_PACKAGE]  = { "package",    0,             64,  NULL },
	[U_CORRECT]  = { "correct",    0,             5,   booleans },
};

static void answer(struct kg_ctx *c, int status, const char *key, const char *value)
{
	json_object *o = json_object_new_object();
	size_t n;
	const char *text;

	json_object_object_add(o, key, json_object_new_string(value));
	text = kg_json_text(o, &n);
	kg_respond_raw(&c->req, status, "application/json;charset=UTF-8", NULL, text, n);
	json_object_put(o);
}

static bool authorised(const struct kg_req *r)
{
	const char *h = kg_req_header(r, "authorization");
	size_t tlen = strlen(kg_cfg.usage_token);

	if (!tlen || !h || strncmp(h, "Bearer ", 7) != 0)
		return false;
	return ck_memeq_const(h + 7, strlen(h + 7), kg_cfg.usage_token, tlen);
}

static void serve(struct kg_ctx *c)
{
	struct kg_values v;
	char why[160] = "", window[16];
	json_tokener *tok;
	PGresult *res;

	c->activity = "usage";
	if (strcmp(c->req.method, "POST") != 0) {
		kg_respond_status(&c->req, 405);
		return;
	}
	if (!authorised(&c->req)) {
		(void)kg_refuse(c, KG_EAUTH, KG_V_BAD_TOKEN, "missing or wrong bearer token");
		answer(c, 401, "error", "a valid bearer token is required");
		return;
	}
	tok = json_tokener_new_ex(8);
	c->json = json_tokener_parse_ex(tok, c->req.body.p, (int)c->req.body.len);
	if (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(c->json, json_type_object))
		snprintf(why, sizeof why, "the body is not a JSON object");
	json_tokener_free(tok);
	if (!*why && kg_fields_json(fields, U__MAX, c->json, &v, why, sizeof why) &&
	    !v.v[U_AT] && !(v.v[U_BEGIN] && v.v[U_END]))
		snprintf(why, sizeof why, "give at, or begin and end");
	if (!*why && !ck_finite_number(v.v[U_VALUE]))
		snprintf(why, sizeof why, "value must be a finite decimal number");
	if (*why) {
		c->verdict = KG_V_BAD_REQUEST;
		answer(c, 400, "error", why);
		return;
	}
	kg_note_ids(c, v.v[U_INSTANCE], NULL);
	snprintf(window, sizeof window, "%d", kg_cfg.usage_window);
	bool correct = v.v[U_CORRECT] && strcmp(v.v[U_CORRECT], "true") == 0;
	const char *p[9] = { v.v[U_INSTANCE], v.v[U_AT], v.v[U_BEGIN], v.v[U_END], v.v[U_VALUE],
	                     v.v[U_METER], v.v[U_PACKAGE], window, correct ? "true" : "false" };
	if ((res = kg_db_exec(&c->tx, &q_add, p))) {
		answer(c, 200, "meteringSn", PQgetvalue(res, 0, 0));
		PQclear(res);
		return;
	}
	/* The function's own checks come back as SQLSTATE 22023 / 23505 / 22P02 / 22007. */
	const char *state = kg_db_sqlstate();
	c->verdict = KG_V_REFUSED;
	if (strcmp(state, "23505") == 0)
		answer(c, 409, "error", "this window is already recorded; send correct=true to replace a value not yet pushed");
	else if (strncmp(state, "22", 2) == 0)
		answer(c, 400, "error", kg_db_error_message());
	else
		answer(c, 500, "error", "internal error");
}

int main(void)
{
	static const struct kg_program prog = { .name = "usage", .serve = serve };
	return kg_main(&prog);
}
