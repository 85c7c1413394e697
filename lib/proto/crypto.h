/* SPDX-License-Identifier: ISC */
/* Cryptography: HMAC/SHA helpers, the appInfo AES-CBC scheme with the Java
 * SHA1PRNG key derivation (security.md §7), the OS CSPRNG, and sealing of
 * secrets at rest (AES-256-GCM under the master key). */
#ifndef KG_CRYPTO_H
#define KG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

#define KG_SHA256_LEN 32
#define KG_MASTER_KEY_LEN 32

void kg_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[KG_SHA256_LEN]);
void kg_sha256(const void *data, size_t n, unsigned char out[KG_SHA256_LEN]);

/* Java SecureRandom("SHA1PRNG") seeded with seed; first n bytes (n <= 40). */
void kg_sha1prng(const void *seed, size_t seedlen, unsigned char *out, size_t n);

/* encryptType 1 = AES-256-CBC, 2 = AES-128-CBC. */
enum kg_enctype { KG_ENC_AES256 = 1, KG_ENC_AES128 = 2 };

struct kg_aeskey {
	unsigned char key[32];
	size_t        len;
};
/* Derive once per access key and reuse. */
void kg_aeskey_derive(struct kg_aeskey *k, const char *access_key, enum kg_enctype type);
/* Appends IV(16 alnum) + b64(AES-CBC(plaintext)). iv may be NULL (random). */
bool kg_appinfo_encrypt(const struct kg_aeskey *k, const char *iv16,
                        const char *plain, size_t n, struct kbuf *out);
/* Reverses it; false on a bad format, padding, or non-UTF-8 plaintext. */
bool kg_appinfo_decrypt(const struct kg_aeskey *k, const char *in, size_t n, struct kbuf *out);

/* CSPRNG; aborts if the OS generator fails (there is no safe fallback). */
void kg_random(void *out, size_t n);
/* n random characters from alphabet into out (NUL-terminated, out[n+1]). */
void kg_random_chars(char *out, size_t n, const char *alphabet);
/* A random RFC 4122 version-4 UUID string (37 bytes with NUL). */
void kg_random_uuid(char out[37]);

/* Seal a secret for storage: nonce(12) || ciphertext || tag(16). */
void kg_seal(const unsigned char master[KG_MASTER_KEY_LEN], const void *plain, size_t n,
             struct kbuf *out);
bool kg_unseal(const unsigned char master[KG_MASTER_KEY_LEN], const void *sealed, size_t n,
               struct kbuf *out);

/* The merchant's RSA private keys (PEM, or Base64 of PKCS#8 DER) for the
 * applicationSync clientSecret: a comma-separated list of files, more than
 * one while the app credential's key pair is rotated; loaded once at start. */
#define KG_RSA_MAX_KEYS 4
bool kg_rsa_load(const char *paths, char *err, size_t errlen);
/* RSA-OAEP, SHA-256, MGF1-SHA1 then MGF1-SHA256, empty label (D7), with
 * each key in turn; the input is tolerant Base64 (D24). Returns the number
 * (from 1, in configured order) of the key that decrypted, 0 if none did. */
int kg_rsa_oaep_decrypt(const char *b64, size_t n, struct kbuf *out);

#endif
