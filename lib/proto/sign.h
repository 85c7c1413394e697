/* SPDX-License-Identifier: ISC */
/* Request signatures and response signing (security.md §1–§6).
 * Every comparison of a received signature is constant-time. */
#ifndef KG_SIGN_H
#define KG_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "params.h"

#define KG_MAX_KEYS 4   /* several keys per family allow rotation */

struct kg_keyring {
	char   *keys[KG_MAX_KEYS];
	size_t  n;
};

/* Which form of the payload (or which V1 variant) verified; logged. */
enum kg_sigform {
	KG_SIGFORM_NONE,
	KG_SIGFORM_CANONICAL,    /* V2: canonical JSON; V1: form-decoded, sorted */
	KG_SIGFORM_RAW,          /* V2: raw body bytes */
	KG_SIGFORM_PERCENT,      /* V1: percent-decoded only ('+' kept) */
	KG_SIGFORM_FORMDECODED,  /* V1 Kit (D13 b): string values form-decoded */
	KG_SIGFORM_RECEIVED,     /* V1 Kit (D13 c): members in received order */
};
const char *kg_sigform_name(enum kg_sigform f);

/* V2 basic (§2): hex(HMAC(key, key + nonce + ts + hex(HMAC(key, payload)))), upper case. */
void kg_sign_v2_basic(const char *key, const char *nonce, const char *ts,
                      const char *payload, size_t n, char out[65]);
/* V2 Kit (§3): hex(HMAC(key, key + nonce + ts + payload)), lower case. */
void kg_sign_kit(const char *key, const char *nonce, const char *ts,
                 const char *payload, size_t n, char out[65]);
/* V1 (§1, §6): b64(HMAC(key + timeStamp, joined)). out gets the Base64. */
void kg_sign_v1(const char *key, const char *timestamp, const char *joined, size_t n,
                struct kbuf *out);
/* V1 basic string to sign: params sorted by name, authToken dropped, first
 * value of a repeated name kept, joined as name=value&... */
void kg_v1_joined(const struct kg_params *ps, struct kbuf *out);
/* Body-Sign header value (§5) over the exact body bytes. */
void kg_body_sign(const char *key, const char *body, size_t n, struct kbuf *out);

enum kg_scheme { KG_SCHEME_BASIC, KG_SCHEME_KIT };
/* Checks sig against each key and each candidate payload (canonical first,
 * then raw). Returns the index of the key that verified, or -1. */
int kg_verify_v2(enum kg_scheme scheme, const struct kg_keyring *ring,
                 const char *nonce, const char *ts, const char *sig,
                 const char *canon, size_t canonlen, const char *raw, size_t rawlen,
                 enum kg_sigform *form);
/* Checks a V1 Base64 token (spaces already turned back into '+') against the
 * joined string with each key. Returns the key index or -1. */
int kg_verify_v1(const struct kg_keyring *ring, const char *timestamp,
                 const char *joined, size_t n, const char *token);

#endif
