/* SPDX-License-Identifier: ISC */
#include "request.h"
#include "ck.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *param(FCGX_Request *f, const char *name)
{
	const char *v = FCGX_GetParam(name, f->envp);
	return v ? v : "";
}

enum kg_read kg_req_read(struct kg_req *r, FCGX_Request *f, size_t limit)
{
	const char *cl;
	int64_t want = -1;

	r->fcgi = f;
	r->method = param(f, "REQUEST_METHOD");
	r->path_info = param(f, "PATH_INFO");
	r->query = param(f, "QUERY_STRING");
	r->remote_addr = param(f, "REMOTE_ADDR");
	r->responded = false;
	r->status = 0;
	kbuf_reset(&r->body);

	cl = FCGX_GetParam("CONTENT_LENGTH", f->envp);
	if (cl && *cl) {
		if (!ck_parse_i64(cl, &want) || want < 0)
			return KG_READ_BAD_LENGTH;
		if ((uint64_t)want > limit)
			return KG_READ_TOO_LARGE;
	}
	/* Read what was announced, or up to the limit when nothing was. */
	for (;;) {
		size_t room = want >= 0 ? (size_t)want - r->body.len : limit + 1 - r->body.len;
		int n;

		if (room == 0)
			break;
		if (room > 65536)
			room = 65536;
		kbuf_reserve(&r->body, room);
		n = FCGX_GetStr(r->body.p + r->body.len, (int)room, f->in);
		if (n <= 0)
			break;
		r->body.len += (size_t)n;
		r->body.p[r->body.len] = '\0';
	}
	if (!r->body.p)
		kbuf_reserve(&r->body, 0);
	if (want >= 0 && r->body.len != (size_t)want)
		return KG_READ_BAD_LENGTH;
	if (r->body.len > limit)
		return KG_READ_TOO_LARGE;
	return KG_READ_OK;
}

const char *kg_req_header(const struct kg_req *r, const char *name)
{
	char env[128] = "HTTP_";
	size_t i, n = strlen(name);

	if (n + 6 > sizeof env)
		return NULL;
	for (i = 0; i < n; i++)
		env[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	env[5 + n] = '\0';
	return FCGX_GetParam(env, r->fcgi->envp);
}

static bool cookie_octets(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == ',' || ch == '\\')
			return false;
	}
	return true;
}

bool kg_req_cookie(const struct kg_req *r, const char *name, char *out, size_t outlen)
{
	const char *h = FCGX_GetParam("HTTP_COOKIE", r->fcgi->envp);
	size_t nlen = strlen(name);

	while (h && *h) {
		const char *end;

		while (*h == ' ' || *h == ';')
			h++;
		end = h + strcspn(h, ";");
		if ((size_t)(end - h) > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
			size_t vlen = (size_t)(end - h) - nlen - 1;

			/* RFC 6265 cookie-octets only: anything else (invalid UTF-8,
			 * controls) was not set by us and counts as no cookie. */
			if (vlen + 1 > outlen || !cookie_octets(h + nlen + 1, vlen))
				return false;
			memcpy(out, h + nlen + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		h = end;
	}
	return false;
}
