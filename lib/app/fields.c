/* SPDX-License-Identifier: ISC */
#include "fields.h"
#include "response.h"

#include <stdio.h>
#include <string.h>

size_t kg_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool check_value(const struct kg_field *f, const char *v, char *why, size_t whylen)
{
	if ((f->flags & KG_F_REQUIRED) && *v == '\0') {
		snprintf(why, whylen, "%s is empty", f->name);
		return false;
	}
	if (f->maxlen && kg_utf8_len(v) > f->maxlen) {
		snprintf(why, whylen, "%s is longer than %zu", f->name, f->maxlen);
		return false;
	}
	if (f->flags & KG_F_DIGITS) {
		for (const char *p = v; *p; p++)
			if (*p < '0' || *p > '9') {
				snprintf(why, whylen, "%s is not a number", f->name);
				return false;
			}
	}
	if (f->allowed && *v) {
		const char *const *a;

		for (a = f->allowed; *a; a++)
			if (strcmp(*a, v) == 0)
				break;
		if (!*a) {
			snprintf(why, whylen, "%s has an unknown value", f->name);
			return false;
		}
	}
	return true;
}

static bool absent(const struct kg_field *f, char *why, size_t whylen)
{
	if (f->flags & (KG_F_REQUIRED | KG_F_PRESENT)) {
		snprintf(why, whylen, "%s is missing", f->name);
		return false;
	}
	return true;
}

bool kg_fields_json(const struct kg_field *tab, size_t n, json_object *obj,
                    struct kg_values *vals, char *why, size_t whylen)
{
	size_t i;

	vals->n = n;
	for (i = 0; i < n; i++) {
		const struct kg_field *f = &tab[i];
		json_object *j = NULL;
		const char *v;

		vals->v[i] = NULL;
		if (!json_object_object_get_ex(obj, f->name, &j) || j == NULL) {
			if (!absent(f, why, whylen))
				return false;
			continue;
		}
		switch (json_object_get_type(j)) {
		case json_type_object:
		case json_type_array:
			if (!(f->flags & (KG_F_OBJECT | KG_F_ANY))) {
				snprintf(why, whylen, "%s must be a string", f->name);
				return false;
			}
			v = kg_json_text(j, NULL);
			break;
		default:
			if ((f->flags & KG_F_OBJECT) && !(f->flags & KG_F_ANY)) {
				snprintf(why, whylen, "%s must be an object", f->name);
				return false;
			}
			/* Numbers and booleans are taken as their text (tolerant reading). */
			v = json_object_get_string(j);
			break;
		}
		if (!check_value(f, v, why, whylen))
			return false;
		vals->v[i] = v;
	}
	return true;
}

bool kg_fields_params(const struct kg_field *tab, size_t n, const struct kg_params *ps,
                      struct kg_values *vals, char *why, size_t whylen)
{
	size_t i;

	vals->n = n;
	for (i = 0; i < n; i++) {
		const char *v = kg_params_get(ps, tab[i].name);

		vals->v[i] = NULL;
		if (!v) {
			if (!absent(&tab[i], why, whylen))
				return false;
			continue;
		}
		if (!check_value(&tab[i], v, why, whylen))
			return false;
		vals->v[i] = v;
	}
	return true;
}
