/* SPDX-License-Identifier: ISC */
/* Outbound HTTPS through libcurl: strict certificate checks, TLS >= 1.2,
 * bounded time and response size. One handle per process, reused. */
#ifndef KG_HTTP_H
#define KG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

#define KG_HTTP_MAX_RESPONSE (1u << 20)

struct kg_http_response {
	long        status;          /* 0 when no HTTP answer */
	struct kbuf body;
	struct kbuf headers;         /* the response header block, as received */
	bool        connect_failed;  /* no connection (DNS, refused, TLS, or a timeout
	                              * before it was up): the request never left,
	                              * the fallback host may help */
	bool        timed_out;       /* the time ran out (before or after connecting) */
	char        error[256];      /* transport error text, "" when status is set */
};

/* Plain http:// is refused unless this is set (koogate simulate against a
 * local server); the marketplace and IdP calls are always HTTPS. */
extern bool kg_http_allow_plain;

/* headers: "Name: value" lines, NULL-terminated. */
bool kg_http(const char *method, const char *url, const char *const *headers,
             const void *body, size_t n, long timeout_ms, struct kg_http_response *resp);
/* "https://host[:port]/base" -> host[:port] (the Host header value). */
bool kg_url_host(const char *url, char *out, size_t outlen);
void kg_http_response_free(struct kg_http_response *resp);
/* Value of a response header, matched by exact name ("Body-Sign"), into out. */
bool kg_http_header(const struct kg_http_response *resp, const char *name, char *out, size_t outlen);

#endif
