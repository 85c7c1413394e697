/* SPDX-License-Identifier: ISC */
/* Buyer login (login.md): tenant lookup, the OAuth token and userinfo
 * calls, CAS ticket validation, the local-user check and sessions. The
 * login programs in cgi-bin/ are thin steps over this module. */
#ifndef KG_LOGIN_H
#define KG_LOGIN_H

#include <stdbool.h>
#include "buf.h"
#include "request.h"

#define LOGIN_COOKIE "kg_session"
#define LOGIN_BIND_COOKIE "kg_login"
#define LOGIN_REF_LEN 10         /* reference id of a failed login, in page and log */

struct login_tenant {
	char        instance_id[65];
	char        tenant_id[65];
	char        tenant_code[65];
	char        app_id[65];
	char        client_id[65];
	char        domain[320];        /* normalised (D30): scheme, no trailing '/' */
	struct kbuf client_secret;      /* plaintext while in use; wiped by login_tenant_free */
};

struct login_identity {
	char user[65];
	char name[129];
	char role[33];
	char org[65];
	char tenant[65];
};

struct login_tokens {
	char *access;
	char *refresh;          /* NULL when none was issued (D26) */
	long  expires_in;
};

enum login_err {
	LOGIN_OK,
	LOGIN_UNKNOWN_TENANT,   /* 400: no binding with credentials */
	LOGIN_REFUSED,          /* 403: user or instance not allowed */
	LOGIN_RETRY,            /* invalid_grant: restart the login once */
	LOGIN_UPSTREAM,         /* 502: the IdP failed or refused */
	LOGIN_INTERNAL,         /* 500: database or configuration */
};

/* Resolves the callback's tenant value: tenantId first, then tenantCode
 * (D8); the most recently updated binding with app credentials. */
enum login_err login_tenant(const char *value, struct login_tenant *t);
void login_tenant_free(struct login_tenant *t);

/* grant "authorization_code" (value = code, redirect_uri or NULL, D32) or
 * "refresh_token" (value = refresh token). why gets a line for the log. */
enum login_err login_token(const struct login_tenant *t, const char *grant, const char *value,
                           const char *redirect_uri, struct login_tokens *out, char *why, size_t whylen);
void login_tokens_free(struct login_tokens *tok);
enum login_err login_userinfo(const struct login_tenant *t, const char *access,
                              struct login_identity *id, char *why, size_t whylen);
/* CAS 3.0 p3/serviceValidate with format=JSON; JSON or XML answers (D11). */
enum login_err login_cas_validate(const struct login_tenant *t, const char *service, const char *ticket,
                                  struct login_identity *id, char *why, size_t whylen);
/* Parses a CAS validation answer (exposed for tests and fuzzing). */
enum login_err login_cas_parse(const char *body, size_t n, struct login_identity *id, char *why, size_t whylen);

/* The local user (issue: granted and enabled users only, configurable;
 * otherwise created just in time, D34) and the instance (frozen or
 * released instances cannot log in). May adjust id->role. */
enum login_err login_check_user(const struct login_tenant *t, struct login_identity *id,
                                char *why, size_t whylen);

/* Creates the session and appends its Set-Cookie header line to headers. */
bool login_session_create(const struct login_tenant *t, const struct login_identity *id,
                          const char *kind, const struct login_tokens *tok, struct kbuf *headers);

struct login_session {
	char  id_hash[65];
	char  kind[8];
	char  instance_id[65], tenant_id[65], tenant_code[65], app_id[65], domain[320];
	struct login_identity id;
	char *refresh;          /* unsealed, or NULL */
	long  token_left;       /* seconds until the access token expires; <0 expired */
	long  token_lifetime;
	char  expires_at[40];
	bool  has_token;
};
/* The valid session of this request's cookie (and counts it as activity). */
bool login_session_get(const struct kg_req *r, struct login_session *s);
/* D26: renew when less than 5 minutes or 20 % of the lifetime is left,
 * whichever comes first (the larger margin, at most the lifetime). */
bool login_token_needs_renewal(long left, long lifetime);
bool login_session_store_tokens(const struct login_session *s, const struct login_tokens *tok);
void login_session_end(const char *id_hash);
void login_session_free(struct login_session *s);

struct kg_ctx;
/* The common start of a login step: GET only, the query decoded into
 * c->params. False when it has already answered (405, or a 400 page). */
bool login_begin(struct kg_ctx *c, const char *activity);
/* Ends a login step that failed: a plain page (400, 403, 502 or 500) that
 * leaks nothing, and a log line with why (what the vendor should fix). */
void login_fail(struct kg_ctx *c, enum login_err e, const char *why);
/* Checks the user, creates the session and sends the browser on to next
 * (a local path) or the landing page. tok is NULL for CAS. */
void login_finish(struct kg_ctx *c, struct login_tenant *t, struct login_identity *id, const char *kind,
                  const struct login_tokens *tok, const char *next);
/* next if a browser resolves it to a path on this origin ("/x"; not "//x",
 * "/\\x", "/\tx", "https:", non-ASCII), else NULL. */
const char *login_safe_next(const char *next);

/* Set-Cookie line that clears name. */
void login_cookie_clear(struct kbuf *headers, const char *name);
void login_cookie_set(struct kbuf *headers, const char *name, const char *value, int max_age);
/* Security headers for every login page (CSP frame-ancestors, no sniffing). */
const char *login_page_headers(struct kbuf *b);
/* Appends s form-URL-encoded (RFC 3986 unreserved kept). */
void login_url_encode(struct kbuf *b, const char *s);

#endif
