/* SPDX-License-Identifier: ISC */
#include "crypto.h"
#include "ck.h"
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* OpenSSL 3's one-shot HMAC() looks the algorithms up by name at every call
 * (5.9 µs against 2.3 µs for 300 bytes); a request computes three or four.
 * One context per process, keyed anew each time. */
void kg_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[KG_SHA256_LEN])
{
	static EVP_MAC_CTX *ctx;
	size_t len;

	if (!ctx) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
			OSSL_PARAM_construct_end(),
		};

		if (!mac || !(ctx = EVP_MAC_CTX_new(mac)) || !EVP_MAC_CTX_set_params(ctx, params))
			abort();
		EVP_MAC_free(mac);      /* the context keeps its own reference */
	}
	/* A NULL key would mean "the previous key" to EVP_MAC_init. */
	if (!EVP_MAC_init(ctx, key ? key : "", key ? keylen : 0, NULL) ||
	    !EVP_MAC_update(ctx, data, n) || !EVP_MAC_final(ctx, out, &len, KG_SHA256_LEN) ||
	    len != KG_SHA256_LEN)
		abort();
}

void kg_sha256(const void *data, size_t n, unsigned char out[KG_SHA256_LEN])
{
	SHA256(data, n, out);
}

void kg_sha1prng(const void *seed, size_t seedlen, unsigned char *out, size_t n)
{
	unsigned char state[SHA_DIGEST_LENGTH], block[SHA_DIGEST_LENGTH];
	size_t have = 0;

	SHA1(seed, seedlen, state);
	while (have < n) {
		int carry = 1;
		bool changed = false;
		size_t i, take;

		SHA1(state, sizeof state, block);
		take = n - have < sizeof block ? n - have : sizeof block;
		memcpy(out + have, block, take);
		have += take;
		/* state += block + 1, Java-style: bytes are signed, carry may be -1. */
		for (i = 0; i < sizeof state; i++) {
			int v = (int)(signed char)state[i] + (int)(signed char)block[i] + carry;
			unsigned char t = (unsigned char)(v & 0xFF);

			if (t != state[i])
				changed = true;
			state[i] = t;
			carry = v >> 8;
		}
		if (!changed)
			state[0]++;
	}
	ck_memzero(state, sizeof state);
	ck_memzero(block, sizeof block);
}

void kg_aeskey_derive(struct kg_aeskey *k, const char *access_key, enum kg_enctype type)
{
	k->len = type == KG_ENC_AES128 ? 16 : 32;
	kg_sha1prng(access_key, strlen(access_key), k->key, k->len);
}

static const EVP_CIPHER *cbc_for(const struct kg_aeskey *k)
{
	return k->len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
}

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool kg_appinfo_encrypt(const struct kg_aeskey *k, const char *iv16,
                        const char *plain, size_t n, struct kbuf *out)
{
	char iv[17];
	unsigned char *ct = ck_malloc(n + 32);
	int len1 = 0, len2 = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	bool ok;

	if (iv16)
		memcpy(iv, iv16, 16);
	else
		kg_random_chars(iv, 16, alnum);
	iv[16] = '\0';
	ok = ctx && EVP_EncryptInit_ex(ctx, cbc_for(k), NULL, k->key, (unsigned char *)iv) == 1 &&
	     EVP_EncryptUpdate(ctx, ct, &len1, (const unsigned char *)plain, (int)n) == 1 &&
	     EVP_EncryptFinal_ex(ctx, ct + len1, &len2) == 1;
	if (ok) {
		kbuf_put(out, iv, 16);
		kg_b64_put(out, ct, (size_t)(len1 + len2));
	}
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	return ok;
}

bool kg_appinfo_decrypt(const struct kg_aeskey *k, const char *in, size_t n, struct kbuf *out)
{
	struct kbuf ct = { 0 };
	unsigned char *pt = NULL;
	int len1 = 0, len2 = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	bool ok = false;

	if (n <= 16 || !kg_b64_decode(in + 16, n - 16, &ct) || ct.len == 0 || ct.len % 16)
		goto done;
	pt = ck_malloc(ct.len + 16);
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx && EVP_DecryptInit_ex(ctx, cbc_for(k), NULL, k->key, (const unsigned char *)in) == 1 &&
	     EVP_DecryptUpdate(ctx, pt, &len1, (unsigned char *)ct.p, (int)ct.len) == 1 &&
	     EVP_DecryptFinal_ex(ctx, pt + len1, &len2) == 1 &&
	     kg_utf8_valid((char *)pt, (size_t)(len1 + len2));
	if (ok)
		kbuf_put(out, pt, (size_t)(len1 + len2));
done:
	EVP_CIPHER_CTX_free(ctx);
	if (pt) {
		ck_memzero(pt, ct.len + 16);
		free(pt);
	}
	kbuf_free(&ct);
	return ok;
}

/* Randomness comes in blocks from the CSPRNG and is handed out from a small
 * per-process pool: one RAND_bytes call per block instead of one per IV. A
 * process that forks must not use the pool in the child (koogate's children
 * only exec). */
static unsigned char pool[4096];
static size_t pool_left;

void kg_random(void *out, size_t n)
{
	unsigned char *o = out;

	if (n > sizeof pool / 4) {
		if (RAND_bytes(o, (int)n) != 1)
			goto fail;
		return;
	}
	if (pool_left < n) {
		if (RAND_bytes(pool, (int)sizeof pool) != 1)
			goto fail;
		pool_left = sizeof pool;
	}
	memcpy(o, pool + sizeof pool - pool_left, n);
	ck_memzero(pool + sizeof pool - pool_left, n);    /* used bytes do not linger */
	pool_left -= n;
	return;
fail:
	fprintf(stderr, "koogate: the OS random generator failed\n");
	abort();
}

void kg_random_chars(char *out, size_t n, const char *alphabet)
{
	size_t m = strlen(alphabet), i = 0;
	/* Rejection sampling keeps the distribution uniform. */
	unsigned limit = 256 - 256 % (unsigned)m;

	while (i < n) {
		unsigned char r[32];
		size_t k;

		kg_random(r, sizeof r);
		for (k = 0; k < sizeof r && i < n; k++)
			if (r[k] < limit)
				out[i++] = alphabet[r[k] % m];
	}
	out[n] = '\0';
}

void kg_random_uuid(char out[37])
{
	unsigned char u[16];

	kg_random(u, sizeof u);
	u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
	         u[12], u[13], u[14], u[15]);
}

void kg_seal(const unsigned char master[KG_MASTER_KEY_LEN], const void *plain, size_t n,
             struct kbuf *out)
{
	unsigned char nonce[12], tag[16];
	unsigned char *ct = ck_malloc(n + 16);
	int len1 = 0, len2 = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	kg_random(nonce, sizeof nonce);
	if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, master, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &len1, plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + len1, &len2) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag) != 1)
		abort();
	kbuf_put(out, nonce, sizeof nonce);
	kbuf_put(out, ct, (size_t)(len1 + len2));
	kbuf_put(out, tag, sizeof tag);
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
}

bool kg_unseal(const unsigned char master[KG_MASTER_KEY_LEN], const void *sealed, size_t n,
               struct kbuf *out)
{
	const unsigned char *s = sealed;
	unsigned char *pt;
	int len1 = 0, len2 = 0;
	EVP_CIPHER_CTX *ctx;
	bool ok;

	if (n < 28)
		return false;
	pt = ck_malloc(n);
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, master, s) == 1 &&
	     EVP_DecryptUpdate(ctx, pt, &len1, s + 12, (int)(n - 28)) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(s + n - 16)) == 1 &&
	     EVP_DecryptFinal_ex(ctx, pt + len1, &len2) == 1;
	if (ok)
		kbuf_put(out, pt, (size_t)(len1 + len2));
	ck_memzero(pt, n);
	free(pt);
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* Several keys during a rotation of the app credential's key pair: the
 * marketplace encrypts with whichever public key the credential holds. */
static EVP_PKEY *rsa_keys[KG_RSA_MAX_KEYS];
static size_t rsa_nkeys;

static EVP_PKEY *rsa_load_one(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct kbuf text = { 0 }, der = { 0 };
	char chunk[4096];
	size_t n;
	EVP_PKEY *k = NULL;

	if (!f) {
		snprintf(err, errlen, "cannot open the RSA private key %s", path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		kbuf_put(&text, chunk, n);
	fclose(f);
	ck_memzero(chunk, sizeof chunk);
	if (text.p && strstr(text.p, "-----BEGIN")) {
		BIO *bio = BIO_new_mem_buf(text.p, (int)text.len);
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else if (text.p && kg_b64_decode(text.p, text.len, &der)) {
		const unsigned char *p = (const unsigned char *)der.p;
		k = d2i_AutoPrivateKey(NULL, &p, (long)der.len);
	}
	kbuf_free(&text);
	kbuf_free(&der);
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		snprintf(err, errlen, "%s is not an RSA private key (PEM or Base64 PKCS#8)", path);
		return NULL;
	}
	if (EVP_PKEY_get_bits(k) < 3072)
		fprintf(stderr, "koogate: warning: the RSA key %s has %d bits; KooGallery asks for 3072 or more\n",
		        path, EVP_PKEY_get_bits(k));
	return k;
}

bool kg_rsa_load(const char *paths, char *err, size_t errlen)
{
	char *copy = ck_strdup(paths), *save = NULL, *tok;
	EVP_PKEY *keys[KG_RSA_MAX_KEYS];
	size_t n = 0;
	bool ok = true;

	for (tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t'); )
			*--e = '\0';
		if (!*tok)
			continue;
		if (n == KG_RSA_MAX_KEYS) {
			snprintf(err, errlen, "at most %d keys", KG_RSA_MAX_KEYS);
			ok = false;
		} else if (!(keys[n] = rsa_load_one(tok, err, errlen))) {
			ok = false;
		} else {
			n++;
		}
	}
	free(copy);
	if (ok && n == 0) {
		snprintf(err, errlen, "no key file given");
		ok = false;
	}
	if (!ok) {
		while (n > 0)
			EVP_PKEY_free(keys[--n]);
		return false;
	}
	while (rsa_nkeys > 0)
		EVP_PKEY_free(rsa_keys[--rsa_nkeys]);
	memcpy(rsa_keys, keys, n * sizeof *keys);
	rsa_nkeys = n;
	return true;
}

static bool oaep(EVP_PKEY *key, const unsigned char *in, size_t n, const EVP_MD *mgf1, struct kbuf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	unsigned char buf[1024];
	size_t len = sizeof buf;
	bool ok;

	ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf1) == 1 &&
	     (size_t)EVP_PKEY_get_size(key) <= sizeof buf &&
	     EVP_PKEY_decrypt(ctx, buf, &len, in, n) == 1;
	if (ok)
		kbuf_put(out, buf, len);
	ck_memzero(buf, sizeof buf);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

int kg_rsa_oaep_decrypt(const char *b64, size_t n, struct kbuf *out)
{
	struct kbuf ct = { 0 };
	int which = 0;

	if (kg_b64_decode(b64, n, &ct))
		for (size_t i = 0; i < rsa_nkeys && !which; i++)
			if (ct.len == (size_t)EVP_PKEY_get_size(rsa_keys[i]) &&
			    (oaep(rsa_keys[i], (unsigned char *)ct.p, ct.len, EVP_sha1(), out) ||
			     oaep(rsa_keys[i], (unsigned char *)ct.p, ct.len, EVP_sha256(), out)))
				which = (int)i + 1;
	kbuf_free(&ct);
	return which;
}
