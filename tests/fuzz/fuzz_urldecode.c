/* SPDX-License-Identifier: ISC */
/* kg_url_decode (FORM and PERCENT) and kg_params_parse (query strings and
 * form bodies), against a small reference decoder written from codec.h and
 * params.h:
 *   - the result never is longer than the input; it never holds a NUL and a
 *     decoded NUL (%00) or a raw NUL is refused;
 *   - acceptance and output equal the reference (strict %XX, '+' only in
 *     FORM mode), and what was in the output buffer before is kept;
 *   - accepted parameters are valid UTF-8, vlen is exact, at most
 *     KG_PARAMS_MAX of them, empty segments skipped, kg_params_get returns
 *     the first value of a name;
 *   - encoding the parameters again (kg_uri_encode) and parsing the result
 *     gives the same list in both modes. */
#include "fuzz.h"

#include "apig.h"
#include "buf.h"
#include "codec.h"
#include "params.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Reference decoder: out must hold n bytes. */
static bool ref_decode(const uint8_t *in, size_t n, enum kg_urldecode mode, uint8_t *out, size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (c == '%') {
			if (i + 2 >= n || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0)
				return false;
			c = (uint8_t)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
			i += 2;
		} else if (c == '+' && mode == KG_URL_FORM) {
			c = ' ';
		}
		if (c == 0)
			return false;
		out[o++] = c;
	}
	*outlen = o;
	return true;
}

static void check_decode(const uint8_t *data, size_t size, enum kg_urldecode mode)
{
	struct kbuf out = { 0 };
	uint8_t *ref = malloc(size ? size : 1);
	size_t reflen = 0;
	bool ok, want;

	kbuf_puts(&out, "pre");
	ok = kg_url_decode((const char *)data, size, mode, &out);
	want = ref_decode(data, size, mode, ref, &reflen);
	FUZZ_CHECK(ok == want, "kg_url_decode(mode %d) returned %d, reference %d", (int)mode, ok, want);
	FUZZ_CHECK(memcmp(out.p, "pre", 3) == 0, "the output buffer's previous content was changed");
	FUZZ_CHECK(out.p[out.len] == '\0', "output not NUL-terminated");
	if (ok) {
		FUZZ_CHECK(out.len - 3 <= size, "output %zu bytes longer than input %zu", out.len - 3, size);
		FUZZ_CHECK(memchr(out.p + 3, '\0', out.len - 3) == NULL, "a NUL was accepted");
		FUZZ_CHECK(out.len - 3 == reflen && memcmp(out.p + 3, ref, reflen) == 0,
		           "output differs from the reference (%zu vs %zu bytes)", out.len - 3, reflen);
		if (mode == KG_URL_PERCENT)
			FUZZ_CHECK(memchr(data, '+', size) == NULL || memchr(out.p + 3, '+', out.len - 3),
			           "PERCENT mode lost a '+'");
	}
	kbuf_free(&out);
	free(ref);
}

/* Reference split; returns false where kg_params_parse must refuse. */
struct ref_param { uint8_t *name, *value; size_t nlen, vlen; };

static bool ref_params(const uint8_t *s, size_t n, enum kg_urldecode mode, struct ref_param *rp, size_t *count)
{
	size_t i = 0, k = 0;

	while (i < n) {
		size_t j = i, eq;

		while (j < n && s[j] != '&')
			j++;
		if (j > i) {
			if (k == KG_PARAMS_MAX)
				return false;
			for (eq = i; eq < j && s[eq] != '='; eq++)
				;
			rp[k].name = malloc(eq - i + 1);
			rp[k].value = malloc(j - eq + 1);
			k++;
			*count = k;
			if (!ref_decode(s + i, eq - i, mode, rp[k - 1].name, &rp[k - 1].nlen) ||
			    !fuzz_utf8_ok(rp[k - 1].name, rp[k - 1].nlen))
				return false;
			if (eq < j) {
				if (!ref_decode(s + eq + 1, j - eq - 1, mode, rp[k - 1].value, &rp[k - 1].vlen) ||
				    !fuzz_utf8_ok(rp[k - 1].value, rp[k - 1].vlen))
					return false;
			} else {
				rp[k - 1].vlen = 0;
			}
		}
		i = j + 1;
	}
	*count = k;
	return true;
}

static void same_params(const struct kg_params *a, const struct kg_params *b, const char *what)
{
	FUZZ_CHECK(a->n == b->n, "%s: %zu parameters, expected %zu", what, b->n, a->n);
	for (size_t i = 0; i < a->n; i++) {
		FUZZ_CHECK(strcmp(a->v[i].name, b->v[i].name) == 0, "%s: name %zu differs", what, i);
		FUZZ_CHECK(a->v[i].vlen == b->v[i].vlen && memcmp(a->v[i].value, b->v[i].value, a->v[i].vlen) == 0,
		           "%s: value %zu differs", what, i);
	}
}

static void check_params(const uint8_t *data, size_t size, enum kg_urldecode mode)
{
	struct kg_params ps = { 0 };
	struct ref_param *rp = calloc(KG_PARAMS_MAX + 1, sizeof *rp);
	size_t count = 0;
	bool ok = kg_params_parse(&ps, (const char *)data, size, mode);
	bool want = ref_params(data, size, mode, rp, &count);

	FUZZ_CHECK(ok == want, "kg_params_parse(mode %d) returned %d, reference %d", (int)mode, ok, want);
	if (ok) {
		struct kbuf enc = { 0 };
		struct kg_params again = { 0 };

		FUZZ_CHECK(ps.n == count && ps.n <= KG_PARAMS_MAX, "%zu parameters, reference %zu", ps.n, count);
		for (size_t i = 0; i < ps.n; i++) {
			const struct kg_param *p = &ps.v[i];
			size_t nlen = strlen(p->name);

			FUZZ_CHECK(strlen(p->value) == p->vlen, "vlen %zu but strlen %zu (a NUL inside)",
			           p->vlen, strlen(p->value));
			FUZZ_CHECK(nlen + p->vlen <= size, "parameter %zu longer than the input", i);
			FUZZ_CHECK(kg_utf8_valid(p->name, nlen) && fuzz_utf8_ok(p->name, nlen), "name %zu not UTF-8", i);
			FUZZ_CHECK(fuzz_utf8_ok(p->value, p->vlen), "value %zu not UTF-8", i);
			FUZZ_CHECK(nlen == rp[i].nlen && memcmp(p->name, rp[i].name, nlen) == 0,
			           "name %zu differs from the reference", i);
			FUZZ_CHECK(p->vlen == rp[i].vlen && memcmp(p->value, rp[i].value, p->vlen) == 0,
			           "value %zu differs from the reference", i);
			/* kg_params_get: the first value of the name */
			for (size_t j = 0; j <= i; j++)
				if (strcmp(ps.v[j].name, p->name) == 0) {
					FUZZ_CHECK(kg_params_get(&ps, p->name) == ps.v[j].value,
					           "kg_params_get(%s) is not the first value", p->name);
					break;
				}
			if (i)
				kbuf_putc(&enc, '&');
			kg_uri_encode(p->name, nlen, &enc);
			kbuf_putc(&enc, '=');
			kg_uri_encode(p->value, p->vlen, &enc);
		}
		/* Re-encoded parameters parse back to the same list, in both modes. */
		FUZZ_CHECK(kg_params_parse(&again, enc.p ? enc.p : "", enc.len, KG_URL_PERCENT),
		           "re-encoded list refused (PERCENT): %s", enc.p);
		same_params(&ps, &again, "re-encoded, PERCENT");
		kg_params_free(&again);
		FUZZ_CHECK(kg_params_parse(&again, enc.p ? enc.p : "", enc.len, KG_URL_FORM),
		           "re-encoded list refused (FORM): %s", enc.p);
		same_params(&ps, &again, "re-encoded, FORM");
		kg_params_free(&again);
		kbuf_free(&enc);
	}
	/* Callers free after a failure too (partial lists must not leak). */
	kg_params_free(&ps);
	FUZZ_CHECK(ps.v == NULL && ps.n == 0, "kg_params_free left state behind");
	for (size_t i = 0; i < KG_PARAMS_MAX + 1; i++) {
		free(rp[i].name);
		free(rp[i].value);
	}
	free(rp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size, KG_URL_FORM);
	check_decode(data, size, KG_URL_PERCENT);
	check_params(data, size, KG_URL_FORM);
	check_params(data, size, KG_URL_PERCENT);
	return 0;
}
