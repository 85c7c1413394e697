/* SPDX-License-Identifier: ISC */
/* The Prometheus text exposition format, version 0.0.4: a family's # HELP
 * and # TYPE lines, then its samples, label values and help text escaped as
 * the format says (backslash, double quote in labels, newline). */
#ifndef KG_PROM_H
#define KG_PROM_H

#include "buf.h"

#define KG_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* # HELP and # TYPE (counter, gauge, histogram) of a family. */
void kg_prom_family(struct kbuf *b, const char *name, const char *type, const char *help);
/* name{l1="v1",...} value: labels holds n name/value pairs (names are the
 * caller's constants; values are escaped here). */
void kg_prom_sample(struct kbuf *b, const char *name, const char *const *labels, size_t n, double v);
/* A value as the format writes it: integers without a fraction, NaN, +Inf, -Inf. */
void kg_prom_value(struct kbuf *b, double v);

#endif
