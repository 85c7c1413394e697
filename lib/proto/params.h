/* SPDX-License-Identifier: ISC */
/* Decoded name=value lists from query strings and form bodies. */
#ifndef KG_PARAMS_H
#define KG_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include "codec.h"

struct kg_param {
	char   *name;
	char   *value;
	size_t  vlen;
};

struct kg_params {
	struct kg_param *v;
	size_t           n, cap;
};

#define KG_PARAMS_MAX 256

/* Splits on '&', each pair on the first '=' (none: empty value), decodes both
 * parts. False on a bad escape, a NUL, invalid UTF-8 or more than
 * KG_PARAMS_MAX pairs. Empty segments ("a=1&&b=2") are skipped. */
bool kg_params_parse(struct kg_params *ps, const char *s, size_t n, enum kg_urldecode mode);
/* The first value of name, or NULL. */
const char *kg_params_get(const struct kg_params *ps, const char *name);
void kg_params_free(struct kg_params *ps);

#endif
