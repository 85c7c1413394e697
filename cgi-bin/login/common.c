/* SPDX-License-Identifier: ISC */
#include "login.h"
#include "apig.h"
#include "ck.h"
#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "app.h"
#include "response.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kg_stmt q_tenant = KG_STMT(login_tenant, 2,
	"SELECT t.instance_id, t.tenant_id, t.tenant_code, t.domain_name, a.app_id, a.client_id, a.client_secret"
	" FROM tenant t JOIN tenant_app a ON a.instance_id = t.instance_id AND a.tenant_id = t.tenant_id"
	"  AND a.deleted_at IS NULL"
	" WHERE t.deleted_at IS NULL AND (t.tenant_id = $1 OR t.tenant_code = $1)"
	" ORDER BY (t.tenant_id = $1) DESC, (a.app_id = $2) DESC, greatest(t.updated_at, a.updated_at) DESC"
	" LIMIT 1");
static struct kg_stmt q_user = KG_STMT(login_user, 4,
	"SELECT u.enabled, u.state, u.role,"
	"       (SELECT status FROM instance i WHERE i.instance_id = $1) AS instance_status"
	" FROM (SELECT 1) one LEFT JOIN tenant_user u"
	"   ON u.instance_id = $1 AND u.tenant_id = $2 AND u.app_id = $3 AND u.user_name = $4");
static struct kg_stmt q_user_jit = KG_STMT(login_user_jit, 7,
	"INSERT INTO tenant_user (instance_id, tenant_id, app_id, user_name, name, role, org_code, synced)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, false) ON CONFLICT DO NOTHING");
static struct kg_stmt q_session_new = KG_STMT(session_new, 16,
	"INSERT INTO session (id_hash, kind, instance_id, tenant_id, tenant_code, domain_name, app_id,"
	" user_name, name, role, org_code, access_token, refresh_token, token_expires_at, token_lifetime,"
	" idle_seconds, expires_at)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::bytea, $13::bytea,"
	"  now() + make_interval(secs => $14::int), $14::int, $15::int, now() + make_interval(secs => $16::int))");
static struct kg_stmt q_session_get = KG_STMT(session_get, 1,
	"UPDATE session SET last_seen_at = now()"
	" WHERE id_hash = $1 AND expires_at > now() AND last_seen_at + make_interval(secs => idle_seconds) > now()"
	" RETURNING kind, instance_id, tenant_id, COALESCE(tenant_code, ''), app_id, domain_name, user_name,"
	"  COALESCE(name, ''), COALESCE(role, ''), COALESCE(org_code, ''), refresh_token,"
	"  COALESCE(extract(epoch FROM token_expires_at - now())::bigint, -1), COALESCE(token_lifetime, 0),"
	"  to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), access_token IS NOT NULL");
static struct kg_stmt q_session_tokens = KG_STMT(session_tokens, 4,
	"UPDATE session SET access_token = $2::bytea, refresh_token = COALESCE($3::bytea, refresh_token),"
	" token_expires_at = now() + make_interval(secs => $4::int), token_lifetime = $4::int"
	" WHERE id_hash = $1");
static struct kg_stmt q_session_end = KG_STMT(session_end, 1,
	"DELETE FROM session WHERE id_hash = $1");

void login_url_encode(struct kbuf *b, const char *s)
{
	kg_uri_encode(s, strlen(s), b);
}

/* Copies at most n - 1 bytes, never cutting a UTF-8 character in half. */
static void copy(char *dst, size_t n, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= n) {
		len = n - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

/* D30: add https:// when there is no scheme; no trailing '/'. */
static void normalise_domain(const char *in, char *out, size_t n)
{
	size_t len;

	snprintf(out, n, "%s%s", strstr(in, "://") ? "" : "https://", in);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';
}

enum login_err login_tenant(const char *value, struct login_tenant *t)
{
	const char *p[2] = { value, kg_cfg.app_id };
	struct kbuf sealed = { 0 };
	PGresult *res;

	memset(t, 0, sizeof *t);
	if (!value || !*value || strlen(value) > 64)
		return LOGIN_UNKNOWN_TENANT;
	if (!(res = kg_db_exec(NULL, &q_tenant, p)))
		return LOGIN_INTERNAL;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return LOGIN_UNKNOWN_TENANT;
	}
	copy(t->instance_id, sizeof t->instance_id, PQgetvalue(res, 0, 0));
	copy(t->tenant_id, sizeof t->tenant_id, PQgetvalue(res, 0, 1));
	copy(t->tenant_code, sizeof t->tenant_code, PQgetvalue(res, 0, 2));
	normalise_domain(PQgetvalue(res, 0, 3), t->domain, sizeof t->domain);
	copy(t->app_id, sizeof t->app_id, PQgetvalue(res, 0, 4));
	copy(t->client_id, sizeof t->client_id, PQgetvalue(res, 0, 5));
	if (!kg_db_bytea_value(PQgetvalue(res, 0, 6), &sealed) ||
	    !kg_unseal(kg_cfg.master_key, sealed.p, sealed.len, &t->client_secret)) {
		kg_log("tenant %s: the stored clientSecret cannot be unsealed (master_key changed?)", value);
		kbuf_free(&sealed);
		PQclear(res);
		return LOGIN_INTERNAL;
	}
	kbuf_free(&sealed);
	PQclear(res);
	return LOGIN_OK;
}

void login_tenant_free(struct login_tenant *t)
{
	kbuf_free(&t->client_secret);
}

void login_tokens_free(struct login_tokens *tok)
{
	if (tok->access) {
		ck_memzero(tok->access, strlen(tok->access));
		free(tok->access);
	}
	if (tok->refresh) {
		ck_memzero(tok->refresh, strlen(tok->refresh));
		free(tok->refresh);
	}
	memset(tok, 0, sizeof *tok);
}

static const char *jstr(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !v)
		return NULL;
	if (json_object_is_type(v, json_type_array))
		v = json_object_array_get_idx(v, 0);       /* CAS attributes may be lists (D28) */
	if (!v || json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	return json_object_get_string(v);
}

/* The IdP's error fields, for a log line that says what to fix (login.md §6). */
static void upstream_error(const char *what, const struct kg_http_response *resp, char *why, size_t whylen)
{
	json_object *j = resp->body.p ? json_tokener_parse(resp->body.p) : NULL;
	const char *e = j ? jstr(j, "error") : NULL, *d = j ? jstr(j, "error_description") : NULL;
	const char *hint = "";

	if (e && strcmp(e, "invalid_client") == 0)
		hint = d && strstr(d, "mismatch") ? " (the stored clientId is stale: ask for a new applicationSync)"
		                                   : " (check the tenant's domainName and the decrypted clientSecret)";
	else if (resp->status == 403)
		hint = " (check the tenant's domainName and the decrypted clientSecret)";
	else if (resp->status == 0)
		hint = " (is the tenant's domainName reachable, with a valid certificate?)";
	if (resp->status == 0)
		snprintf(why, whylen, "%s: %s%s", what, resp->error, hint);
	else
		snprintf(why, whylen, "%s: HTTP %ld %s%s%s%s%s", what, resp->status, e ? e : "",
		         d ? " (" : "", d ? d : "", d ? ")" : "", hint);
	json_object_put(j);
}

enum login_err login_token(const struct login_tenant *t, const char *grant, const char *value,
                           const char *redirect_uri, struct login_tokens *out, char *why, size_t whylen)
{
	struct kbuf url = { 0 }, form = { 0 };
	struct kg_http_response resp;
	const char *headers[] = { "Content-Type: application/x-www-form-urlencoded",
	                          "Accept: application/json", NULL };
	bool is_code = strcmp(grant, "authorization_code") == 0;
	enum login_err r = LOGIN_UPSTREAM;
	json_object *j = NULL;

	memset(out, 0, sizeof *out);
	kbuf_printf(&url, "%s/api/v1/oauth2/token", t->domain);
	kbuf_puts(&form, "grant_type=");
	login_url_encode(&form, grant);
	kbuf_puts(&form, is_code ? "&code=" : "&refresh_token=");
	login_url_encode(&form, value);
	kbuf_puts(&form, "&client_id=");
	login_url_encode(&form, t->client_id);
	kbuf_puts(&form, "&client_secret=");
	login_url_encode(&form, t->client_secret.p ? t->client_secret.p : "");
	if (is_code && redirect_uri) {
		kbuf_puts(&form, "&redirect_uri=");
		login_url_encode(&form, redirect_uri);
	}
	if (kg_http("POST", url.p, headers, form.p, form.len, kg_cfg.idp_timeout_ms, &resp) &&
	    resp.status == 200 && (j = json_tokener_parse(resp.body.p ? resp.body.p : "")) &&
	    jstr(j, "access_token") && *jstr(j, "access_token")) {
		json_object *exp = NULL;

		out->access = ck_strdup(jstr(j, "access_token"));
		out->refresh = jstr(j, "refresh_token") && *jstr(j, "refresh_token") ? ck_strdup(jstr(j, "refresh_token")) : NULL;
		out->expires_in = json_object_object_get_ex(j, "expires_in", &exp) ? json_object_get_int64(exp) : 7200;
		if (out->expires_in <= 0 || out->expires_in > 30 * 86400)
			out->expires_in = 7200;
		r = LOGIN_OK;
	} else {
		json_object *e = resp.body.p ? json_tokener_parse(resp.body.p) : NULL;
		const char *code = e ? jstr(e, "error") : NULL;

		upstream_error(is_code ? "token request" : "token refresh", &resp, why, whylen);
		if (code && strcmp(code, "invalid_grant") == 0)
			r = LOGIN_RETRY;
		json_object_put(e);
	}
	json_object_put(j);
	ck_memzero(form.p, form.len);
	kbuf_free(&form);
	kbuf_free(&url);
	kg_http_response_free(&resp);
	return r;
}

static enum login_err identity_from(json_object *o, struct login_identity *id, char *why, size_t whylen)
{
	const char *user = jstr(o, "userName");

	if (!user || !*user)
		user = jstr(o, "user");
	if (!user || !*user || strlen(user) > 64) {
		snprintf(why, whylen, "the identity carries no userName");
		return LOGIN_UPSTREAM;
	}
	copy(id->user, sizeof id->user, user);
	copy(id->name, sizeof id->name, jstr(o, "name"));
	copy(id->role, sizeof id->role, jstr(o, "role"));
	copy(id->org, sizeof id->org, jstr(o, "organizationCode"));
	copy(id->tenant, sizeof id->tenant, jstr(o, "tenant"));
	return LOGIN_OK;
}

enum login_err login_userinfo(const struct login_tenant *t, const char *access,
                              struct login_identity *id, char *why, size_t whylen)
{
	struct kbuf url = { 0 }, auth = { 0 };
	struct kg_http_response resp;
	enum login_err r = LOGIN_UPSTREAM;
	json_object *j = NULL;

	memset(id, 0, sizeof *id);
	kbuf_printf(&url, "%s/api/v1/oauth2/userinfo", t->domain);
	kbuf_printf(&auth, "Authorization: Bearer %s", access);
	const char *headers[] = { auth.p, "Accept: application/json", NULL };
	if (kg_http("GET", url.p, headers, NULL, 0, kg_cfg.idp_timeout_ms, &resp) && resp.status == 200 &&
	    (j = json_tokener_parse(resp.body.p ? resp.body.p : "")) && json_object_is_type(j, json_type_object))
		r = identity_from(j, id, why, whylen);
	else
		upstream_error("userinfo", &resp, why, whylen);
	json_object_put(j);
	ck_memzero(auth.p, auth.len);
	kbuf_free(&auth);
	kbuf_free(&url);
	kg_http_response_free(&resp);
	return r;
}

enum login_err login_cas_validate(const struct login_tenant *t, const char *service, const char *ticket,
                                  struct login_identity *id, char *why, size_t whylen)
{
	struct kbuf url = { 0 };
	struct kg_http_response resp;
	const char *headers[] = { "Accept: application/json, application/xml", NULL };
	enum login_err r = LOGIN_UPSTREAM;

	memset(id, 0, sizeof *id);
	kbuf_printf(&url, "%s/api/v1/cas/p3/serviceValidate?service=", t->domain);
	login_url_encode(&url, service);
	kbuf_puts(&url, "&ticket=");
	login_url_encode(&url, ticket);
	kbuf_puts(&url, "&format=JSON");
	if (kg_http("GET", url.p, headers, NULL, 0, kg_cfg.idp_timeout_ms, &resp) && resp.status == 200)
		r = login_cas_parse(resp.body.p ? resp.body.p : "", resp.body.len, id, why, whylen);
	else
		upstream_error("CAS ticket validation", &resp, why, whylen);
	kbuf_free(&url);
	kg_http_response_free(&resp);
	return r;
}

/* XML text between <cas:name ...> and </cas:name>, entities decoded and
 * surrounding white space trimmed; cut to n bytes at a character boundary. */
static bool xml_text(const char *body, const char *end, const char *name, char *out, size_t n)
{
	static const struct { const char *ent; char ch; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	char open[80], close[80];
	const char *p, *q;
	struct kbuf text = { 0 };
	size_t lead, len;

	snprintf(open, sizeof open, "<cas:%s", name);
	snprintf(close, sizeof close, "</cas:%s>", name);
	for (p = body; (p = strstr(p, open)) && p < end; p++) {
		char after = p[strlen(open)];
		if (after == '>' || after == ' ')
			break;
	}
	if (!p || p >= end || !(p = strchr(p, '>')) || !(q = strstr(p, close)) || q > end)
		return false;
	kbuf_reserve(&text, (size_t)(q - p));
	for (p++; p < q; p++) {
		size_t k;

		for (k = 0; *p == '&' && k < sizeof ents / sizeof *ents; k++)
			if (strncmp(p, ents[k].ent, strlen(ents[k].ent)) == 0)
				break;
		if (*p == '&' && k < sizeof ents / sizeof *ents) {
			kbuf_putc(&text, ents[k].ch);
			p += strlen(ents[k].ent) - 1;
		} else {
			kbuf_putc(&text, *p);
		}
	}
	/* trim the white space XML pretty-printing adds */
	lead = strspn(text.p, " \n\r\t");
	len = text.len;
	while (len > lead && strchr(" \n\r\t", text.p[len - 1]))
		text.p[--len] = '\0';
	copy(out, n, text.p + lead);
	kbuf_free(&text);
	return true;
}

static enum login_err cas_parse(const char *body, size_t n, struct login_identity *id, char *why, size_t whylen);

enum login_err login_cas_parse(const char *body, size_t n, struct login_identity *id, char *why, size_t whylen)
{
	/* The parsers below rely on a terminating NUL: work on a bounded copy. */
	char *copy_ = ck_strndup(body, n);
	enum login_err r = cas_parse(copy_, strlen(copy_), id, why, whylen);

	free(copy_);
	return r;
}

static enum login_err cas_parse(const char *body, size_t n, struct login_identity *id, char *why, size_t whylen)
{
	const char *p = body, *end = body + n;

	memset(id, 0, sizeof *id);
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	if (p < end && *p == '{') {
		json_object *j = json_tokener_parse(p), *sr, *ok, *fail, *attrs = NULL;
		enum login_err r = LOGIN_UPSTREAM;

		if (j && json_object_object_get_ex(j, "serviceResponse", &sr)) {
			if (json_object_object_get_ex(sr, "authenticationSuccess", &ok) &&
			    json_object_is_type(ok, json_type_object)) {
				const char *user = jstr(ok, "user");
				json_object_object_get_ex(ok, "attributes", &attrs);
				if (attrs && json_object_is_type(attrs, json_type_object) &&
				    (r = identity_from(attrs, id, why, whylen)) == LOGIN_OK) {
					;
				} else if (user && *user && strlen(user) <= 64) {
					copy(id->user, sizeof id->user, user);
					r = LOGIN_OK;
				} else {
					snprintf(why, whylen, "CAS success without a user");
				}
			} else if (json_object_object_get_ex(sr, "authenticationFailure", &fail)) {
				snprintf(why, whylen, "CAS refused the ticket: %s", jstr(fail, "code") ? jstr(fail, "code") : "?");
				r = LOGIN_REFUSED;
			} else {
				snprintf(why, whylen, "CAS answer has neither success nor failure");
			}
		} else {
			snprintf(why, whylen, "CAS answer is not the expected JSON");
		}
		json_object_put(j);
		return r;
	}
	if (p < end && *p == '<') {
		char user[65] = "", attr[129];
		const char *succ = strstr(p, "<cas:authenticationSuccess");

		if (!succ || succ >= end) {
			const char *f = strstr(p, "<cas:authenticationFailure");
			char code[40] = "?";
			if (f && f < end) {
				const char *c = strstr(f, "code=\"");
				if (c && c < end)
					sscanf(c + 6, "%39[^\"]", code);
				snprintf(why, whylen, "CAS refused the ticket: %s", code);
				return LOGIN_REFUSED;
			}
			snprintf(why, whylen, "CAS answer is not the expected XML");
			return LOGIN_UPSTREAM;
		}
		if (xml_text(succ, end, "userName", attr, sizeof attr) && *attr && strlen(attr) <= 64)
			copy(user, sizeof user, attr);
		else if (xml_text(succ, end, "user", attr, sizeof attr) && *attr && strlen(attr) <= 64)
			copy(user, sizeof user, attr);
		if (!*user) {
			snprintf(why, whylen, "CAS success without a user");
			return LOGIN_UPSTREAM;
		}
		copy(id->user, sizeof id->user, user);
		if (xml_text(succ, end, "name", attr, sizeof attr))
			copy(id->name, sizeof id->name, attr);
		if (xml_text(succ, end, "role", attr, sizeof attr))
			copy(id->role, sizeof id->role, attr);
		if (xml_text(succ, end, "organizationCode", attr, sizeof attr))
			copy(id->org, sizeof id->org, attr);
		if (xml_text(succ, end, "tenant", attr, sizeof attr))
			copy(id->tenant, sizeof id->tenant, attr);
		return LOGIN_OK;
	}
	snprintf(why, whylen, "CAS answer is neither JSON nor XML");
	return LOGIN_UPSTREAM;
}

enum login_err login_check_user(const struct login_tenant *t, struct login_identity *id,
                                char *why, size_t whylen)
{
	const char *p[4] = { t->instance_id, t->tenant_id, t->app_id, id->user };
	PGresult *res;
	enum login_err r = LOGIN_OK;

	/* D33: the identity's tenant should name the binding; a mismatch is only noted. */
	if (*id->tenant && strcmp(id->tenant, t->tenant_id) && strcmp(id->tenant, t->tenant_code))
		kg_log("note: identity tenant differs from the binding %s (D33)", t->tenant_id);
	if (!(res = kg_db_exec(NULL, &q_user, p)))
		return LOGIN_INTERNAL;
	const char *instance_status = PQgetisnull(res, 0, 3) ? "" : PQgetvalue(res, 0, 3);
	if (strcmp(instance_status, "frozen") == 0 || strcmp(instance_status, "released") == 0) {
		snprintf(why, whylen, "instance %s is %s", t->instance_id, instance_status);
		r = LOGIN_REFUSED;
	} else if (PQgetisnull(res, 0, 0)) {
		if (kg_cfg.login_require_grant) {
			snprintf(why, whylen, "user %s was not granted the app by authSync", id->user);
			r = LOGIN_REFUSED;
		} else {
			/* D34: authSync may lag; create the user, flagged as not yet synced. */
			const char *q[7] = { t->instance_id, t->tenant_id, t->app_id, id->user, id->name,
			                     id->role, id->org };
			if (kg_db_run(NULL, &q_user_jit, q) < 0)
				r = LOGIN_INTERNAL;
		}
	} else if (strcmp(PQgetvalue(res, 0, 1), "granted") != 0 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(why, whylen, "user %s is %s", id->user,
		         strcmp(PQgetvalue(res, 0, 1), "granted") ? PQgetvalue(res, 0, 1) : "disabled");
		r = LOGIN_REFUSED;
	} else if (!*id->role) {
		copy(id->role, sizeof id->role, PQgetvalue(res, 0, 2));   /* userinfo's role wins when given */
	}
	PQclear(res);
	return r;
}

/* A SameSite=None cookie lives in the workbench's cross-site iframe, where
 * browsers that block third-party cookies keep it only when Partitioned
 * (CHIPS: stored per top-level site); others ignore the attribute. */
static const char *cookie_partition(void)
{
	return strcmp(kg_cfg.cookie_samesite, "None") == 0 ? "; Partitioned" : "";
}

void login_cookie_set(struct kbuf *headers, const char *name, const char *value, int max_age)
{
	kbuf_printf(headers, "Set-Cookie: %s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=%s%s\r\n",
	            name, value, max_age, kg_cfg.cookie_samesite, cookie_partition());
}

void login_cookie_clear(struct kbuf *headers, const char *name)
{
	kbuf_printf(headers, "Set-Cookie: %s=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=%s%s\r\n",
	            name, kg_cfg.cookie_samesite, cookie_partition());
}

const char *login_page_headers(struct kbuf *b)
{
	/* Embeddable in the workbench iframe only where configured (login.md §11). */
	kbuf_printf(b, "Content-Security-Policy: frame-ancestors %s\r\nReferrer-Policy: no-referrer\r\n",
	            kg_cfg.frame_ancestors);
	return b->p;
}

static void hash_hex(const char *s, char out[65])
{
	unsigned char h[KG_SHA256_LEN];

	kg_sha256(s, strlen(s), h);
	kg_hex(h, sizeof h, out);
}

static void seal_hex(const char *v, struct kbuf *hex)
{
	struct kbuf sealed = { 0 };

	if (!v)
		return;
	kg_seal(kg_cfg.master_key, v, strlen(v), &sealed);
	kg_db_bytea_param(sealed.p, sealed.len, hex);
	kbuf_free(&sealed);
}

bool login_session_create(const struct login_tenant *t, const struct login_identity *id,
                          const char *kind, const struct login_tokens *tok, struct kbuf *headers)
{
	unsigned char raw[32];
	struct kbuf cookie = { 0 }, access = { 0 }, refresh = { 0 };
	char hash[65], lifetime[24], idle[16], max[16];
	bool ok;

	kg_random(raw, sizeof raw);                 /* 256 bits */
	kg_b64_put(&cookie, raw, sizeof raw);
	for (size_t i = 0; i < cookie.len; i++)     /* URL-safe alphabet, no padding */
		cookie.p[i] = cookie.p[i] == '+' ? '-' : cookie.p[i] == '/' ? '_' : cookie.p[i];
	while (cookie.len && cookie.p[cookie.len - 1] == '=')
		cookie.p[--cookie.len] = '\0';
	hash_hex(cookie.p, hash);
	seal_hex(tok ? tok->access : NULL, &access);
	seal_hex(tok ? tok->refresh : NULL, &refresh);
	snprintf(lifetime, sizeof lifetime, "%ld", tok ? tok->expires_in : 0L);
	snprintf(idle, sizeof idle, "%d", kg_cfg.session_idle);
	snprintf(max, sizeof max, "%d", kg_cfg.session_max);
	const char *p[16] = { hash, kind, t->instance_id, t->tenant_id, t->tenant_code, t->domain, t->app_id,
	                      id->user, id->name, id->role, id->org, access.p, refresh.p,
	                      tok ? lifetime : NULL, idle, max };
	ok = kg_db_run(NULL, &q_session_new, p) == 1;
	if (ok)
		login_cookie_set(headers, LOGIN_COOKIE, cookie.p, kg_cfg.session_max);
	ck_memzero(raw, sizeof raw);
	kbuf_free(&cookie);
	kbuf_free(&access);
	kbuf_free(&refresh);
	return ok;
}

bool login_session_get(const struct kg_req *r, struct login_session *s)
{
	char cookie[128];
	const char *p[1];
	struct kbuf sealed = { 0 }, plain = { 0 };
	PGresult *res;

	memset(s, 0, sizeof *s);
	if (!kg_req_cookie(r, LOGIN_COOKIE, cookie, sizeof cookie) || !*cookie)
		return false;
	hash_hex(cookie, s->id_hash);
	ck_memzero(cookie, sizeof cookie);
	p[0] = s->id_hash;
	if (!(res = kg_db_exec(NULL, &q_session_get, p)) || PQntuples(res) != 1) {
		PQclear(res);
		return false;
	}
	copy(s->kind, sizeof s->kind, PQgetvalue(res, 0, 0));
	copy(s->instance_id, sizeof s->instance_id, PQgetvalue(res, 0, 1));
	copy(s->tenant_id, sizeof s->tenant_id, PQgetvalue(res, 0, 2));
	copy(s->tenant_code, sizeof s->tenant_code, PQgetvalue(res, 0, 3));
	copy(s->app_id, sizeof s->app_id, PQgetvalue(res, 0, 4));
	copy(s->domain, sizeof s->domain, PQgetvalue(res, 0, 5));
	copy(s->id.user, sizeof s->id.user, PQgetvalue(res, 0, 6));
	copy(s->id.name, sizeof s->id.name, PQgetvalue(res, 0, 7));
	copy(s->id.role, sizeof s->id.role, PQgetvalue(res, 0, 8));
	copy(s->id.org, sizeof s->id.org, PQgetvalue(res, 0, 9));
	if (!PQgetisnull(res, 0, 10) && kg_db_bytea_value(PQgetvalue(res, 0, 10), &sealed) &&
	    kg_unseal(kg_cfg.master_key, sealed.p, sealed.len, &plain))
		s->refresh = ck_strndup(plain.p, plain.len);
	s->token_left = atol(PQgetvalue(res, 0, 11));
	s->token_lifetime = atol(PQgetvalue(res, 0, 12));
	copy(s->expires_at, sizeof s->expires_at, PQgetvalue(res, 0, 13));
	s->has_token = strcmp(PQgetvalue(res, 0, 14), "t") == 0;
	kbuf_free(&sealed);
	kbuf_free(&plain);
	PQclear(res);
	return true;
}

bool login_session_store_tokens(const struct login_session *s, const struct login_tokens *tok)
{
	struct kbuf access = { 0 }, refresh = { 0 };
	char lifetime[24];
	bool ok;

	seal_hex(tok->access, &access);
	seal_hex(tok->refresh, &refresh);
	snprintf(lifetime, sizeof lifetime, "%ld", tok->expires_in);
	const char *p[4] = { s->id_hash, access.p, refresh.p, lifetime };
	ok = kg_db_run(NULL, &q_session_tokens, p) == 1;
	kbuf_free(&access);
	kbuf_free(&refresh);
	return ok;
}

void login_session_end(const char *id_hash)
{
	const char *p[1] = { id_hash };

	(void)kg_db_run(NULL, &q_session_end, p);
}

void login_session_free(struct login_session *s)
{
	if (s->refresh) {
		ck_memzero(s->refresh, strlen(s->refresh));
		free(s->refresh);
	}
	s->refresh = NULL;
}

/* RFC 3986 pchar plus '/', '?', '#' and '%': everything else (controls, space,
 * backslash, non-ASCII) is refused rather than second-guessed, because the
 * WHATWG URL parser strips tabs and newlines and reads '\\' as '/'. */
static bool next_char_ok(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("-._~!$&'()*+,;=:@/?#%", ch));
}

const char *login_safe_next(const char *next)
{
	size_t n = next ? strlen(next) : 0;

	/* "/" then anything but a second slash: a path on this origin, never a
	 * scheme-relative "//host". */
	if (n == 0 || n > 512 || next[0] != '/' || next[1] == '/')
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!next_char_ok((unsigned char)next[i]))
			return NULL;
		if (next[i] == '%') {
			int hi = kg_hexval((unsigned char)next[i + 1]);
			int lo = hi < 0 ? -1 : kg_hexval((unsigned char)next[i + 2]);
			int v = hi * 16 + lo;

			/* An encoded slash, backslash or control becomes one if anything
			 * decodes the path again (a proxy, the app's router). */
			if (hi < 0 || lo < 0 || v < 0x20 || v == 0x7f || v == '\\' ||
			    (v == '/' && i == 1))
				return NULL;
			i += 2;
		}
	}
	return next;
}

bool login_begin(struct kg_ctx *c, const char *activity)
{
	c->activity = activity;
	if (strcmp(c->req.method, "GET") != 0) {
		kg_fault(c, 405, KG_V_BAD_METHOD);
		return false;
	}
	if (!kg_params_parse(&c->params, c->req.query, strlen(c->req.query), KG_URL_FORM)) {
		login_fail(c, LOGIN_UNKNOWN_TENANT, "malformed query string");
		return false;
	}
	return true;
}

void login_fail(struct kg_ctx *c, enum login_err e, const char *why)
{
	static const struct { int status; enum kg_verdict verdict; const char *title, *message; } pages[] = {
		[LOGIN_OK]             = { 500, KG_V_ERROR, "Login failed", "Please try again." },
		[LOGIN_UNKNOWN_TENANT] = { 400, KG_V_UNKNOWN_TENANT, "Login failed",
		                           "This enterprise is not set up for this application yet." },
		[LOGIN_REFUSED]        = { 403, KG_V_REFUSED, "Access denied",
		                           "Your account may not use this application. Ask your administrator." },
		[LOGIN_RETRY]          = { 502, KG_V_UPSTREAM, "Login failed",
		                           "The sign-in could not be completed. Please start again." },
		[LOGIN_UPSTREAM]       = { 502, KG_V_UPSTREAM, "Login failed",
		                           "The identity service could not confirm the sign-in. Please try again later." },
		[LOGIN_INTERNAL]       = { 500, KG_V_ERROR, "Login failed", "Please try again later." },
	};
	struct kbuf h = { 0 };
	char ref[LOGIN_REF_LEN + 1];

	/* A verdict the caller set (bad-state) says more than the page's. */
	if (c->verdict == KG_V_OK)
		c->verdict = pages[e].verdict;
	/* The buyer sees the reference, the log has it with the cause: support
	 * finds the line without the page leaking anything. */
	kg_random_chars(ref, LOGIN_REF_LEN, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789");
	kg_log("login refused (%s) ref=%s: %s", kg_verdict_name(c->verdict), ref, why && *why ? why : "-");
	kg_respond_page(&c->req, pages[e].status, login_page_headers(&h),
	                &(struct kg_page_msg){ .title = pages[e].title, .message = pages[e].message, .ref = ref });
	kbuf_free(&h);
}

void login_finish(struct kg_ctx *c, struct login_tenant *t, struct login_identity *id, const char *kind,
                  const struct login_tokens *tok, const char *next)
{
	struct kbuf h = { 0 };
	char why[200] = "";
	enum login_err e;

	kg_note_ids(c, t->instance_id, NULL);
	if ((e = login_check_user(t, id, why, sizeof why)) != LOGIN_OK) {
		login_fail(c, e, why);
		return;
	}
	if (!login_session_create(t, id, kind, tok, &h)) {
		kbuf_free(&h);
		login_fail(c, LOGIN_INTERNAL, "the session could not be stored");
		return;
	}
	login_cookie_clear(&h, "kg_next");
	kg_log("login: user %s of tenant %s (%s)", id->user, t->tenant_id, kind);
	c->verdict = KG_V_OK;
	kg_respond_redirect(&c->req, login_safe_next(next) ? next : kg_cfg.login_landing_url, h.p);
	kbuf_free(&h);
}

bool login_token_needs_renewal(long left, long lifetime)
{
	long margin = lifetime / 5 > 300 ? lifetime / 5 : 300;

	/* an unknown lifetime (0) renews in the last 5 minutes */
	if (lifetime > 0 && margin > lifetime)
		margin = lifetime;
	return left < margin;
}
