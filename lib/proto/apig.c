/* SPDX-License-Identifier: ISC */
#include "apig.h"
#include "ck.h"
#include "codec.h"
#include "crypto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void kg_uri_encode(const char *s, size_t n, struct kbuf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			kbuf_putc(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			kbuf_put(out, e, 3);
		}
	}
}

void kg_apig_date(char out[17])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Each segment percent-decoded, then encoded; a trailing '/' added. */
static void canonical_uri(const char *path, struct kbuf *out)
{
	const char *p = path;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct kbuf seg = { 0 };

		if (kg_url_decode(p, len, KG_URL_PERCENT, &seg))
			kg_uri_encode(seg.p ? seg.p : "", seg.len, out);
		else
			kg_uri_encode(p, len, out);
		kbuf_free(&seg);
		if (!slash)
			break;
		kbuf_putc(out, '/');
		p = slash + 1;
	}
	if (out->len == 0 || out->p[out->len - 1] != '/')
		kbuf_putc(out, '/');
}

struct qpair {
	struct kbuf name, value;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->name.p, y->name.p);

	return c ? c : strcmp(x->value.p, y->value.p);
}

static void canonical_query(const struct kg_params *q, struct kbuf *out)
{
	struct qpair *pairs;
	size_t i;

	if (!q || q->n == 0)
		return;
	pairs = ck_calloc(q->n, sizeof *pairs);
	for (i = 0; i < q->n; i++) {
		kbuf_reserve(&pairs[i].name, 0);
		kbuf_reserve(&pairs[i].value, 0);
		kg_uri_encode(q->v[i].name, strlen(q->v[i].name), &pairs[i].name);
		kg_uri_encode(q->v[i].value, q->v[i].vlen, &pairs[i].value);
	}
	qsort(pairs, q->n, sizeof *pairs, qpair_cmp);
	for (i = 0; i < q->n; i++) {
		if (i)
			kbuf_putc(out, '&');
		kbuf_put(out, pairs[i].name.p, pairs[i].name.len);
		kbuf_putc(out, '=');
		kbuf_put(out, pairs[i].value.p, pairs[i].value.len);
		kbuf_free(&pairs[i].name);
		kbuf_free(&pairs[i].value);
	}
	free(pairs);
}

struct lheader {
	char       *name;    /* lower case */
	const char *value;
};

static int lheader_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lheader *)a)->name, ((const struct lheader *)b)->name);
}

void kg_apig_sign(const char *ak, const char *sk, const char *method, const char *path,
                  const struct kg_params *query, const struct kg_header *hdrs, size_t nh,
                  const void *body, size_t n, struct kbuf *auth, struct kbuf *canonical)
{
	struct kbuf creq = { 0 }, signed_names = { 0 }, sts = { 0 };
	struct lheader *lh = ck_calloc(nh ? nh : 1, sizeof *lh);
	unsigned char hash[KG_SHA256_LEN], mac[KG_SHA256_LEN];
	char hex[65];
	const char *date = "";
	size_t i;

	for (i = 0; i < nh; i++) {
		lh[i].name = ck_strdup(hdrs[i].name);
		for (char *p = lh[i].name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		lh[i].value = hdrs[i].value;
		if (strcmp(lh[i].name, "x-sdk-date") == 0)
			date = hdrs[i].value;
	}
	qsort(lh, nh, sizeof *lh, lheader_cmp);

	kbuf_puts(&creq, method);
	kbuf_putc(&creq, '\n');
	canonical_uri(path, &creq);
	kbuf_putc(&creq, '\n');
	canonical_query(query, &creq);
	kbuf_putc(&creq, '\n');
	for (i = 0; i < nh; i++) {
		const char *v = lh[i].value, *e = v + strlen(v);

		while (*v == ' ' || *v == '\t')
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		kbuf_puts(&creq, lh[i].name);
		kbuf_putc(&creq, ':');
		kbuf_put(&creq, v, (size_t)(e - v));
		kbuf_putc(&creq, '\n');
		if (i)
			kbuf_putc(&signed_names, ';');
		kbuf_puts(&signed_names, lh[i].name);
	}
	kbuf_putc(&creq, '\n');
	kbuf_put(&creq, signed_names.p, signed_names.len);
	kbuf_putc(&creq, '\n');
	kg_sha256(body ? body : "", body ? n : 0, hash);
	kg_hex(hash, sizeof hash, hex);
	kbuf_puts(&creq, hex);

	kg_sha256(creq.p, creq.len, hash);
	kg_hex(hash, sizeof hash, hex);
	kbuf_printf(&sts, "SDK-HMAC-SHA256\n%s\n%s", date, hex);
	kg_hmac_sha256(sk, strlen(sk), sts.p, sts.len, mac);
	kg_hex(mac, sizeof mac, hex);
	kbuf_printf(auth, "SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s",
	            ak, signed_names.p, hex);
	if (canonical)
		kbuf_put(canonical, creq.p, creq.len);
	for (i = 0; i < nh; i++)
		free(lh[i].name);
	free(lh);
	kbuf_free(&creq);
	kbuf_free(&signed_names);
	kbuf_free(&sts);
}
