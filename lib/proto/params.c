/* SPDX-License-Identifier: ISC */
#include "params.h"
#include "ck.h"

#include <stdlib.h>
#include <string.h>

static bool decode_part(const char *s, size_t n, enum kg_urldecode mode, char **out, size_t *len)
{
	struct kbuf b = { 0 };

	if (!kg_url_decode(s, n, mode, &b) || !kg_utf8_valid(b.p ? b.p : "", b.len)) {
		kbuf_free(&b);
		return false;
	}
	*out = b.p ? b.p : ck_strdup("");
	*len = b.len;
	return true;
}

bool kg_params_parse(struct kg_params *ps, const char *s, size_t n, enum kg_urldecode mode)
{
	const char *end = s + n;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *seg_end = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(seg_end - s));
		struct kg_param p = { 0 };
		size_t nlen;

		if (seg_end > s) {
			if (ps->n == KG_PARAMS_MAX)
				return false;
			if (!decode_part(s, (size_t)((eq ? eq : seg_end) - s), mode, &p.name, &nlen))
				return false;
			if (!decode_part(eq ? eq + 1 : seg_end, eq ? (size_t)(seg_end - eq - 1) : 0, mode,
			                 &p.value, &p.vlen)) {
				free(p.name);
				return false;
			}
			if (ps->n == ps->cap) {
				ps->cap = ps->cap ? 2 * ps->cap : 16;
				ps->v = ck_realloc(ps->v, ps->cap * sizeof *ps->v);
			}
			ps->v[ps->n++] = p;
		}
		if (!amp)
			break;
		s = amp + 1;
	}
	return true;
}

const char *kg_params_get(const struct kg_params *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].name, name) == 0)
			return ps->v[i].value;
	return NULL;
}

void kg_params_free(struct kg_params *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].value);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->cap = 0;
}
