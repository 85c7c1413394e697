/* SPDX-License-Identifier: ISC */
/* The request context: the FastCGI environment and body, read once. */
#ifndef KG_REQUEST_H
#define KG_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <fcgiapp.h>
#include "buf.h"

struct kg_req {
	FCGX_Request *fcgi;
	const char   *method;       /* "" when absent */
	const char   *path_info;    /* "" when absent */
	const char   *query;        /* "" when absent */
	const char   *remote_addr;
	struct kbuf   body;
	bool          responded;
	int           status;       /* HTTP status sent */
};

enum kg_read { KG_READ_OK, KG_READ_TOO_LARGE, KG_READ_BAD_LENGTH };

/* Reads the environment and at most limit body bytes. The body buffer is kept
 * across requests (reset, not freed, unless it grew past 128 KiB: app.c), so
 * reading a body of the usual size allocates nothing; parsing and answering
 * it still do. */
enum kg_read kg_req_read(struct kg_req *r, FCGX_Request *f, size_t limit);
/* Request header by its HTTP name ("x-sign"), or NULL. */
const char *kg_req_header(const struct kg_req *r, const char *name);

/* Value of cookie name into out (NUL-terminated); false if absent or too long. */
bool kg_req_cookie(const struct kg_req *r, const char *name, char *out, size_t outlen);

#endif
