/* SPDX-License-Identifier: ISC */
#include "buf.h"
#include "ck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kbuf_reset(struct kbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void kbuf_free(struct kbuf *b)
{
	if (b->p) {
		ck_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

void kbuf_reserve(struct kbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 256;
	while (b->cap < need)
		b->cap *= 2;
	b->p = ck_realloc(b->p, b->cap);
	b->p[b->len] = '\0';     /* a new buffer is an empty string too */
}

void kbuf_put(struct kbuf *b, const void *p, size_t n)
{
	kbuf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void kbuf_puts(struct kbuf *b, const char *s)
{
	kbuf_put(b, s, strlen(s));
}

void kbuf_putc(struct kbuf *b, char c)
{
	kbuf_put(b, &c, 1);
}

void kbuf_printf(struct kbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	char probe[1];

	va_start(ap, fmt);
	n = vsnprintf(probe, sizeof probe, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	kbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void kbuf_put_jstr(struct kbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;

	kbuf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;

		switch (c) {
		case '"':  esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\f': esc = "\\f"; break;
		case '\r': esc = "\\r"; break;
		default:
			if (c >= 0x20)
				continue;
		}
		kbuf_put(b, s + run, i - run);
		run = i + 1;
		if (esc) {
			kbuf_puts(b, esc);
		} else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			kbuf_put(b, u, sizeof u);
		}
	}
	kbuf_put(b, s + run, n - run);
	kbuf_putc(b, '"');
}

void kbuf_put_html(struct kbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': kbuf_puts(b, "&lt;"); break;
		case '>': kbuf_puts(b, "&gt;"); break;
		case '&': kbuf_puts(b, "&amp;"); break;
		case '"': kbuf_puts(b, "&quot;"); break;
		case '\'': kbuf_puts(b, "&#39;"); break;
		default: kbuf_putc(b, *s);
		}
	}
}
