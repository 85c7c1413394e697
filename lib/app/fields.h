/* SPDX-License-Identifier: ISC */
/* Request fields declared as tables of validators (after kcgi): a handler
 * sees only values that passed its table. */
#ifndef KG_FIELDS_H
#define KG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "params.h"

enum kg_field_flags {
	KG_F_REQUIRED = 1 << 0,  /* present and not empty */
	KG_F_PRESENT  = 1 << 1,  /* present, may be empty */
	KG_F_OBJECT   = 1 << 2,  /* a JSON object or array, kept as compact text */
	KG_F_DIGITS   = 1 << 3,  /* ASCII digits only */
	KG_F_ANY      = 1 << 4,  /* any JSON type (tolerant lists, D6); the handler reads it */
};

struct kg_field {
	const char         *name;
	unsigned            flags;
	size_t              maxlen;    /* in characters; 0 = no limit */
	const char *const  *allowed;   /* NULL-terminated list, or NULL */
};

/* One validated value per table row; NULL when an optional field is absent.
 * A table has at most KG_FIELDS_MAX rows (KG_ROUTE checks it). */
#define KG_FIELDS_MAX 32
struct kg_values {
	const char *v[KG_FIELDS_MAX];
	size_t      n;
};

/* Fill vals from a JSON object / from decoded parameters. On failure writes
 * the reason (naming the field) into why and returns false. */
bool kg_fields_json(const struct kg_field *tab, size_t n, json_object *obj,
                    struct kg_values *vals, char *why, size_t whylen);
bool kg_fields_params(const struct kg_field *tab, size_t n, const struct kg_params *ps,
                      struct kg_values *vals, char *why, size_t whylen);
/* Length in characters (UTF-8 code points). */
size_t kg_utf8_len(const char *s);

#define KG_NFIELDS(tab) (sizeof(tab) / sizeof((tab)[0]))

#endif
