/* SPDX-License-Identifier: ISC */
/* API Gateway SDK-HMAC-SHA256 request signing (security.md §9), for the
 * KooGallery open APIs (Query Order, usage push). */
#ifndef KG_APIG_H
#define KG_APIG_H

#include <stddef.h>
#include "buf.h"
#include "params.h"

struct kg_header {
	const char *name;
	const char *value;
};

/* Appends the Authorization header value to auth. hdrs are the headers to
 * sign, exactly as sent (they must include X-Sdk-Date); query holds the
 * decoded parameters. canonical, when not NULL, receives the canonical
 * request (for logs and tests). */
void kg_apig_sign(const char *ak, const char *sk, const char *method, const char *path,
                  const struct kg_params *query, const struct kg_header *hdrs, size_t nh,
                  const void *body, size_t n, struct kbuf *auth, struct kbuf *canonical);
/* RFC 3986 encoding: unreserved kept, every other byte %XY upper case. */
void kg_uri_encode(const char *s, size_t n, struct kbuf *out);
/* X-Sdk-Date for now: YYYYMMDDTHHMMSSZ. */
void kg_apig_date(char out[17]);

#endif
