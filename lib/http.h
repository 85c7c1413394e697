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
	bool        connect_failed;  /* DNS, refused, TLS: the fallback host may help */
	char        error[256];      /* transport error text, "" when status is set */
};

/* headers: "Name: value" lines, NULL-terminated. */
bool kg_http(const char *method, const char *url, const char *const *headers,
             const void *body, size_t n, long timeout_ms, struct kg_http_response *resp);
/* "https://host[:port]/base" -> host[:port] (the Host header value). */
bool kg_url_host(const char *url, char *out, size_t outlen);
void kg_http_response_free(struct kg_http_response *resp);

#endif
