/* SPDX-License-Identifier: ISC */
/* Request headers and the small decoders around them:
 *   - kg_req_cookie over HTTP_COOKIE=<input> in a FastCGI environment built
 *     here (an FCGX_Request whose envp we fill), for the cookies the login
 *     programs read, with exactly sized output arrays (so an overrun shows).
 *     A found value is a whole "name=value" segment of the header (after
 *     the start, ';' or ' '), holds no ';' and fits; a miss with room to
 *     spare means no segment starts with "name=";
 *   - kg_req_header: a header name taken from the input (up to the first
 *     ':') is found under HTTP_<NAME> when it is short enough, never past the
 *     env buffer; the usual names work next to it;
 *   - kg_b64_decode (D24, tolerant): no more than 3 bytes per 4 characters,
 *     agrees with OpenSSL's EVP_DecodeBlock on canonical input, and what it
 *     decodes encodes (kg_b64_put) and decodes again to the same bytes;
 *   - kg_appinfo_decrypt with fixed keys (AES-256 and AES-128 from
 *     "test-access-key"): a success is valid UTF-8 no longer than the
 *     ciphertext; and the input as plaintext (when UTF-8) goes through
 *     kg_appinfo_encrypt and back unchanged;
 *   - kg_utf8_valid against the independent validator in fuzz.h. */
#include "fuzz.h"

#include <fcgiapp.h>
#include <openssl/evp.h>

#include "buf.h"
#include "codec.h"
#include "crypto.h"
#include "login.h"
#include "request.h"

static const struct { const char *name; size_t outlen; } cookies[] = {
	{ LOGIN_COOKIE, 128 },         /* login_session_get */
	{ LOGIN_BIND_COOKIE, 64 },     /* callback.c */
	{ "kg_retry", 4 },
	{ "kg_next", 1200 },
	{ "k", 1 },
	{ "", 16 },
};

/* Does "name=" start a segment of h at some position (start, or after ';' / ' ')? */
static bool segment_starts(const char *h, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = h; *p; p++)
		if ((p == h || p[-1] == ';' || p[-1] == ' ') && strncmp(p, name, nlen) == 0 && p[nlen] == '=')
			return true;
	return false;
}

static void cookie(const char *hdr, const char *env_cookie)
{
	char *envp[] = { (char *)"REQUEST_METHOD=GET", (char *)env_cookie, NULL };
	FCGX_Request f;
	struct kg_req r;

	memset(&f, 0, sizeof f);
	memset(&r, 0, sizeof r);
	f.envp = envp;
	r.fcgi = &f;
	for (size_t i = 0; i < sizeof cookies / sizeof *cookies; i++) {
		size_t outlen = cookies[i].outlen;
		char *out = malloc(outlen);
		bool got = kg_req_cookie(&r, cookies[i].name, out, outlen);

		if (got) {
			size_t vlen = strnlen(out, outlen);
			struct kbuf seg = { 0 };

			FUZZ_CHECK(vlen < outlen, "cookie %s not terminated", cookies[i].name);
			FUZZ_CHECK(!strchr(out, ';'), "cookie %s value holds ';'", cookies[i].name);
			kbuf_printf(&seg, "%s=%s", cookies[i].name, out);
			FUZZ_CHECK(strstr(hdr, seg.p) != NULL, "cookie %s=%s is not in the header", cookies[i].name, out);
			FUZZ_CHECK(segment_starts(hdr, cookies[i].name), "cookie %s found mid-segment", cookies[i].name);
			kbuf_free(&seg);
		} else if (strlen(hdr) + 1 < outlen) {
			/* room for any value: a miss means the name starts no segment
			 * (segments start after ';' and spaces) */
			const char *p = hdr;
			size_t nlen = strlen(cookies[i].name);

			while (*p) {
				while (*p == ' ' || *p == ';')
					p++;
				FUZZ_CHECK(!(strncmp(p, cookies[i].name, nlen) == 0 && p[nlen] == '=' && *p),
				           "cookie %s present but not found", cookies[i].name);
				p += strcspn(p, ";");
			}
		}
		free(out);
	}
}

static void header(const uint8_t *data, size_t size)
{
	const uint8_t *colon = memchr(data, ':', size);
	size_t nlen = colon ? (size_t)(colon - data) : 0;
	char *name, *value;
	struct kbuf env = { 0 };
	char *envp[6];
	FCGX_Request f;
	struct kg_req r;
	const char *got;

	if (!colon || memchr(data, '\0', size) || memchr(data, '=', nlen))
		return;
	name = fuzz_strndup(data, nlen);
	value = fuzz_strndup(colon + 1, size - nlen - 1);
	kbuf_puts(&env, "HTTP_");
	for (size_t i = 0; i < nlen; i++) {
		char c = name[i] == '-' ? '_' : name[i];

		kbuf_putc(&env, c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
	}
	kbuf_putc(&env, '=');
	kbuf_puts(&env, value);
	envp[0] = env.p;
	envp[1] = (char *)"HTTP_X_SIGN=abc";
	envp[2] = (char *)"HTTP_AUTHTOKEN=tok";
	envp[3] = (char *)"HTTP_X_TIMESTAMP=1680508066618";
	envp[4] = (char *)"HTTP_X_NONCE=n";
	envp[5] = NULL;
	memset(&f, 0, sizeof f);
	memset(&r, 0, sizeof r);
	f.envp = envp;
	r.fcgi = &f;

	got = kg_req_header(&r, name);
	if (nlen + 6 <= 128)
		FUZZ_CHECK(got == envp[0] + 5 + nlen + 1, "header %s not found (got %s)", name, got ? got : "NULL");
	else
		FUZZ_CHECK(got == NULL, "a %zu-byte header name was looked up", nlen);
	/* the fixed names still resolve next to the fuzzed one (unless it shadows them) */
	got = kg_req_header(&r, "x-sign");
	FUZZ_CHECK(got && (strcmp(got, "abc") == 0 || got == envp[0] + 5 + nlen + 1), "x-sign lost");
	got = kg_req_header(&r, "authToken");
	FUZZ_CHECK(got && (strcmp(got, "tok") == 0 || got == envp[0] + 5 + nlen + 1), "authToken lost");
	kbuf_free(&env);
	free(name);
	free(value);
}

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z') return 1;
	if (c >= 'a' && c <= 'z') return 1;
	if (c >= '0' && c <= '9') return 1;
	return c == '+' || c == '/';
}

static void b64(const uint8_t *data, size_t size)
{
	struct kbuf out = { 0 }, enc = { 0 }, again = { 0 };
	bool ok = kg_b64_decode((const char *)data, size, &out);
	bool canonical = size % 4 == 0;
	size_t pad = 0;

	for (size_t i = 0; i < size && canonical; i++) {
		if (data[i] == '=' && i + 2 >= size && (i + 1 == size || data[i + 1] == '='))
			pad++;
		else if (!b64val(data[i]))
			canonical = false;
	}
	if (ok) {
		size_t sig = 0;

		for (size_t i = 0; i < size; i++)
			sig += data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n' && data[i] != '=';
		FUZZ_CHECK(out.len == sig * 6 / 8, "decoded %zu bytes from %zu characters", out.len, sig);
		/* round trip */
		kg_b64_put(&enc, (const unsigned char *)out.p, out.len);
		FUZZ_CHECK(kg_b64_decode(enc.p ? enc.p : "", enc.len, &again), "own encoding refused");
		FUZZ_CHECK(again.len == out.len && (out.len == 0 || memcmp(again.p, out.p, out.len) == 0),
		           "round trip differs");
	}
	if (canonical && size) {
		unsigned char *ref = malloc(size / 4 * 3 + 1);
		int n = EVP_DecodeBlock(ref, data, (int)size);

		if (n >= 0 && (size_t)n >= pad) {
			n -= (int)pad;
			FUZZ_CHECK(ok, "OpenSSL decodes canonical Base64 that kg_b64_decode refuses");
			FUZZ_CHECK(out.len == (size_t)n && memcmp(out.p, ref, (size_t)n) == 0,
			           "differs from OpenSSL (%zu vs %d bytes)", out.len, n);
		}
		free(ref);
	}
	kbuf_free(&out);
	kbuf_free(&enc);
	kbuf_free(&again);
}

static void appinfo(const uint8_t *data, size_t size)
{
	static struct kg_aeskey k256, k128;
	static bool init;
	const struct kg_aeskey *keys[2] = { &k256, &k128 };

	if (!init) {
		kg_aeskey_derive(&k256, "test-access-key", KG_ENC_AES256);
		kg_aeskey_derive(&k128, "test-access-key", KG_ENC_AES128);
		init = true;
	}
	for (int i = 0; i < 2; i++) {
		struct kbuf out = { 0 }, ct = { 0 }, back = { 0 };

		if (kg_appinfo_decrypt(keys[i], (const char *)data, size, &out)) {
			FUZZ_CHECK(fuzz_utf8_ok(out.p, out.len), "decrypted plaintext is not UTF-8");
			FUZZ_CHECK(out.len + 16 < size, "plaintext longer than the ciphertext");
		}
		FUZZ_CHECK(out.len == 0 || size > 16, "output from a short input");
		if (fuzz_utf8_ok(data, size) && size < 512) {
			FUZZ_CHECK(kg_appinfo_encrypt(keys[i], "0123456789ABCDEF", (const char *)data, size, &ct),
			           "encryption failed");
			FUZZ_CHECK(ct.len >= 16 + 24 && memcmp(ct.p, "0123456789ABCDEF", 16) == 0, "bad cipher text format");
			FUZZ_CHECK(kg_appinfo_decrypt(keys[i], ct.p, ct.len, &back), "own cipher text refused");
			FUZZ_CHECK(back.len == size && (size == 0 || memcmp(back.p, data, size) == 0), "round trip differs");
		}
		kbuf_free(&out);
		kbuf_free(&ct);
		kbuf_free(&back);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *hdr = fuzz_strndup(data, size);
	struct kbuf env = { 0 };

	kbuf_puts(&env, "HTTP_COOKIE=");
	kbuf_puts(&env, hdr);             /* the environment is C strings: cut at a NUL */
	cookie(env.p + 12, env.p);
	kbuf_free(&env);
	free(hdr);

	header(data, size);
	b64(data, size);
	appinfo(data, size);
	FUZZ_CHECK(kg_utf8_valid((const char *)data, size) == fuzz_utf8_ok(data, size),
	           "kg_utf8_valid says %d", kg_utf8_valid((const char *)data, size));
	return 0;
}
