/* SPDX-License-Identifier: ISC */
/* A growable byte buffer, always NUL-terminated. */
#ifndef KG_BUF_H
#define KG_BUF_H

#include <stddef.h>

struct kbuf {
	char   *p;
	size_t  len;
	size_t  cap;
};

void kbuf_reset(struct kbuf *b);           /* len = 0, keeps memory */
void kbuf_free(struct kbuf *b);            /* wipes and frees */
void kbuf_reserve(struct kbuf *b, size_t extra);
void kbuf_put(struct kbuf *b, const void *p, size_t n);
void kbuf_puts(struct kbuf *b, const char *s);
void kbuf_putc(struct kbuf *b, char c);
void kbuf_printf(struct kbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a JSON string with quotes, Jackson-style escaping (security.md §4). */
void kbuf_put_jstr(struct kbuf *b, const char *s, size_t n);
/* Appends s with HTML escaping. */
void kbuf_put_html(struct kbuf *b, const char *s);

#endif
