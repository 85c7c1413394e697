/* SPDX-License-Identifier: ISC */
#include "sign.h"
#include "ck.h"
#include "codec.h"
#include "crypto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *kg_sigform_name(enum kg_sigform f)
{
	static const char *const names[] = {
		[KG_SIGFORM_NONE] = "none",
		[KG_SIGFORM_CANONICAL] = "canonical",
		[KG_SIGFORM_RAW] = "raw",
		[KG_SIGFORM_PERCENT] = "percent-decoded",
		[KG_SIGFORM_FORMDECODED] = "form-decoded-values",
		[KG_SIGFORM_RECEIVED] = "received-order",
	};
	return (unsigned)f < sizeof names / sizeof *names ? names[f] : "?";
}

/* hex(HMAC(key, key + nonce + ts + tail)) */
static void hmac_chain(const char *key, const char *nonce, const char *ts,
                       const char *tail, size_t tlen, char out[65])
{
	struct kbuf msg = { 0 };
	unsigned char mac[KG_SHA256_LEN];

	kbuf_puts(&msg, key);
	kbuf_puts(&msg, nonce);
	kbuf_puts(&msg, ts);
	kbuf_put(&msg, tail, tlen);
	kg_hmac_sha256(key, strlen(key), msg.p, msg.len, mac);
	kg_hex(mac, sizeof mac, out);
	kbuf_free(&msg);
}

void kg_sign_v2_basic(const char *key, const char *nonce, const char *ts,
                      const char *payload, size_t n, char out[65])
{
	unsigned char mac[KG_SHA256_LEN];
	char inner[65];
	size_t i;

	kg_hmac_sha256(key, strlen(key), payload, n, mac);
	kg_hex(mac, sizeof mac, inner);
	hmac_chain(key, nonce, ts, inner, 64, out);
	for (i = 0; i < 64; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
}

void kg_sign_kit(const char *key, const char *nonce, const char *ts,
                 const char *payload, size_t n, char out[65])
{
	hmac_chain(key, nonce, ts, payload, n, out);
}

void kg_sign_v1(const char *key, const char *timestamp, const char *joined, size_t n,
                struct kbuf *out)
{
	struct kbuf k = { 0 };
	unsigned char mac[KG_SHA256_LEN];

	kbuf_puts(&k, key);
	kbuf_puts(&k, timestamp);
	kg_hmac_sha256(k.p, k.len, joined, n, mac);
	kg_b64_put(out, mac, sizeof mac);
	kbuf_free(&k);
}

static int param_cmp(const void *a, const void *b)
{
	const struct kg_param *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);

	/* stable for repeated names: keep arrival order so the first wins */
	return c ? c : (*x < *y ? -1 : *x > *y);
}

void kg_v1_joined(const struct kg_params *ps, struct kbuf *out)
{
	const struct kg_param **sorted = ck_malloc((ps->n ? ps->n : 1) * sizeof *sorted);
	const char *last = NULL;
	size_t i, n = 0;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].name, "authToken") != 0)
			sorted[n++] = &ps->v[i];
	qsort(sorted, n, sizeof *sorted, param_cmp);
	for (i = 0; i < n; i++) {
		if (last && strcmp(last, sorted[i]->name) == 0)
			continue;
		if (out->len)
			kbuf_putc(out, '&');
		kbuf_puts(out, sorted[i]->name);
		kbuf_putc(out, '=');
		kbuf_put(out, sorted[i]->value, sorted[i]->vlen);
		last = sorted[i]->name;
	}
	free(sorted);
}

void kg_body_sign(const char *key, const char *body, size_t n, struct kbuf *out)
{
	unsigned char mac[KG_SHA256_LEN];

	kg_hmac_sha256(key, strlen(key), body, n, mac);
	kbuf_puts(out, "sign_type=\"HMAC-SHA256\", signature=\"");
	kg_b64_put(out, mac, sizeof mac);
	kbuf_putc(out, '"');
}

int kg_verify_v2(enum kg_scheme scheme, const struct kg_keyring *ring,
                 const char *nonce, const char *ts, const char *sig,
                 const char *canon, size_t canonlen, const char *raw, size_t rawlen,
                 enum kg_sigform *form)
{
	char want[65], got[65];
	size_t i, slen = strlen(sig);

	if (slen != 64)
		return -1;
	/* The received value is public; fold it to lower case up front. */
	for (i = 0; i < 64; i++)
		got[i] = (char)tolower((unsigned char)sig[i]);
	got[64] = '\0';
	for (i = 0; i < ring->n; i++) {
		for (int c = 0; c < 2; c++) {
			const char *p = c == 0 ? canon : raw;
			size_t n = c == 0 ? canonlen : rawlen;
			size_t k;

			if (!p || (c == 1 && canon && n == canonlen && memcmp(p, canon, n) == 0))
				continue;
			if (scheme == KG_SCHEME_BASIC)
				kg_sign_v2_basic(ring->keys[i], nonce, ts, p, n, want);
			else
				kg_sign_kit(ring->keys[i], nonce, ts, p, n, want);
			for (k = 0; k < 64; k++)
				want[k] = (char)tolower((unsigned char)want[k]);
			if (ck_memeq_const(want, 64, got, 64)) {
				*form = c == 0 ? KG_SIGFORM_CANONICAL : KG_SIGFORM_RAW;
				return (int)i;
			}
		}
	}
	*form = KG_SIGFORM_NONE;
	return -1;
}

int kg_verify_v1(const struct kg_keyring *ring, const char *timestamp,
                 const char *joined, size_t n, const char *token)
{
	struct kbuf want = { 0 };
	size_t i, tlen = strlen(token);
	int found = -1;

	for (i = 0; i < ring->n && found < 0; i++) {
		kbuf_reset(&want);
		kg_sign_v1(ring->keys[i], timestamp, joined, n, &want);
		if (ck_memeq_const(want.p, want.len, token, tlen))
			found = (int)i;
	}
	kbuf_free(&want);
	return found;
}
