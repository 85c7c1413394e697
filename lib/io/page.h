/* SPDX-License-Identifier: ISC */
/* The one look of koogate's own HTML pages (the status page, the buyer's
 * login pages): a small stylesheet inline (the pages' CSP allows inline
 * styles only, no scripts), readable on a phone, no framework. Callers
 * escape every value with kbuf_put_html. */
#ifndef KG_PAGE_H
#define KG_PAGE_H

#include "buf.h"

/* <!DOCTYPE html> up to <body>: charset, viewport, the title (escaped), the
 * stylesheet, and head_extra as given (a constant, e.g. a meta refresh). */
void kg_page_begin(struct kbuf *b, const char *title, const char *head_extra);
void kg_page_end(struct kbuf *b);
/* open and close as given (markup), text escaped between them. */
void kg_page_text(struct kbuf *b, const char *open, const char *text, const char *close);

/* The short page of a buyer-facing answer (login, session, logout). */
struct kg_page_msg {
	const char *title;
	const char *message;
	const char *ref;        /* reference id that is also in the log line, or NULL */
	const char *link;       /* where the button goes (a constant local path), or NULL */
	const char *link_text;
};
void kg_page_message(struct kbuf *b, const struct kg_page_msg *m);

#endif
