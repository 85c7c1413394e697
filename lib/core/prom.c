/* SPDX-License-Identifier: ISC */
#include "prom.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Label values escape ", \ and newline; help text only \ and newline. */
static void put_escaped(struct kbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			kbuf_puts(b, "\\\\");
		else if (*s == '\n')
			kbuf_puts(b, "\\n");
		else if (*s == '"' && quote)
			kbuf_puts(b, "\\\"");
		else
			kbuf_putc(b, *s);
	}
}

void kg_prom_family(struct kbuf *b, const char *name, const char *type, const char *help)
{
	kbuf_printf(b, "# HELP %s ", name);
	put_escaped(b, help, false);
	kbuf_printf(b, "\n# TYPE %s %s\n", name, type);
}

void kg_prom_value(struct kbuf *b, double v)
{
	if (isnan(v))
		kbuf_puts(b, "NaN");
	else if (isinf(v))
		kbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v)   /* 2^53: exact */
		kbuf_printf(b, "%.0f", v);
	else {
		char t[32];

		/* The shortest of 15 or 17 digits that reads back as v. */
		snprintf(t, sizeof t, "%.15g", v);
		if (strtod(t, NULL) != v)
			snprintf(t, sizeof t, "%.17g", v);
		kbuf_puts(b, t);
	}
}

void kg_prom_sample(struct kbuf *b, const char *name, const char *const *labels, size_t n, double v)
{
	kbuf_puts(b, name);
	for (size_t i = 0; i < n; i++) {
		kbuf_printf(b, "%c%s=\"", i ? ',' : '{', labels[2 * i]);
		put_escaped(b, labels[2 * i + 1], true);
		kbuf_putc(b, '"');
	}
	kbuf_puts(b, n ? "} " : " ");
	kg_prom_value(b, v);
	kbuf_putc(b, '\n');
}
