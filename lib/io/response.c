/* SPDX-License-Identifier: ISC */
#include "response.h"
#include "sign.h"

#include <stdio.h>
#include <string.h>

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 502: return "Bad Gateway";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void kg_respond_raw(struct kg_req *r, int status, const char *content_type,
                    const char *key, const char *body, size_t n)
{
	kg_respond_with(r, status, content_type, NULL, key, body, n);
}

void kg_respond_with(struct kg_req *r, int status, const char *content_type, const char *headers,
                     const char *key, const char *body, size_t n)
{
	struct kbuf head = { 0 };

	if (r->responded)
		return;
	kbuf_printf(&head, "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
	            status, reason(status), content_type, n);
	if (status == 405)
		kbuf_puts(&head, "Allow: GET, POST\r\n");
	if (headers)
		kbuf_puts(&head, headers);
	if (key) {
		kbuf_puts(&head, "Body-Sign: ");
		kg_body_sign(key, body, n, &head);
		kbuf_puts(&head, "\r\n");
	}
	kbuf_puts(&head, "\r\n");
	FCGX_PutStr(head.p, (int)head.len, r->fcgi->out);
	FCGX_PutStr(body, (int)n, r->fcgi->out);
	kbuf_free(&head);
	r->responded = true;
	r->status = status;
}

void kg_respond_status(struct kg_req *r, int status)
{
	char body[64];
	int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));

	kg_respond_raw(r, status, "text/plain; charset=utf-8", NULL, body, (size_t)n);
}

const char *kg_json_text(json_object *o, size_t *len)
{
	return json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	                                         JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

void kg_respond_result(struct kg_req *r, const char *key, enum kg_result res,
                       const char *msg, json_object *extra)
{
	json_object *o = json_object_new_object();
	const char *text;
	size_t n;

	json_object_object_add(o, "resultCode", json_object_new_string(kg_result_code(res)));
	json_object_object_add(o, "resultMsg", json_object_new_string(msg ? msg : kg_result_msg(res)));
	if (extra) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	text = kg_json_text(o, &n);
	kg_respond_raw(r, 200, "application/json;charset=UTF-8", key, text, n);
	json_object_put(o);
}

void kg_respond_redirect(struct kg_req *r, const char *location, const char *headers)
{
	struct kbuf h = { 0 };

	/* a Location with a line break would split the header */
	if (strpbrk(location, "\r\n")) {
		kg_respond_status(r, 500);
		return;
	}
	kbuf_printf(&h, "Location: %s\r\n%s", location, headers ? headers : "");
	kg_respond_with(r, 302, "text/plain; charset=utf-8", h.p, NULL, "", 0);
	kbuf_free(&h);
}

void kg_respond_page(struct kg_req *r, int status, const char *headers, const struct kg_page_msg *m)
{
	struct kbuf b = { 0 };

	kg_page_message(&b, m);
	kg_respond_with(r, status, "text/html; charset=utf-8", headers, NULL, b.p, b.len);
	kbuf_free(&b);
}
