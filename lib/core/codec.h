/* SPDX-License-Identifier: ISC */
/* Text codecs: hex, Base64, URL decoding. Decoders are strict about what they
 * accept and never read past the given length. */
#ifndef KG_CODEC_H
#define KG_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void kg_hex(const unsigned char *in, size_t n, char *out);
/* Value of one hex digit, -1 if c is none. */
int kg_hexval(unsigned char c);
/* Standard Base64 with padding, appended to b. */
void kg_b64_put(struct kbuf *b, const unsigned char *in, size_t n);
/* Tolerant Base64 (D24): skips whitespace, accepts the URL-safe alphabet and
 * missing padding. Appends the bytes to out. False on any other character. */
bool kg_b64_decode(const char *in, size_t n, struct kbuf *out);
/* Base64 has no spaces: a form decoder turned unencoded '+' into ' '. Appends
 * s to out with them turned back. */
void kg_b64_unspace(const char *s, struct kbuf *out);

enum kg_urldecode { KG_URL_FORM, KG_URL_PERCENT };
/* Decodes %XX (and '+' as space in FORM mode) into out. False on a bad escape
 * or a NUL byte. */
bool kg_url_decode(const char *in, size_t n, enum kg_urldecode mode, struct kbuf *out);
/* True when the n bytes are well-formed UTF-8 (no overlongs, no surrogates). */
bool kg_utf8_valid(const char *s, size_t n);
/* Appends s for a terminal: control characters (C0, DEL, C1), bidi overrides
 * and bytes that are not UTF-8 become \xNN or \uNNNN; the rest is copied. */
void kg_term_text(struct kbuf *out, const char *s);
/* Terminal columns of a UTF-8 string: East Asian wide and fullwidth
 * characters (CJK, Hangul, fullwidth forms, emoji) take two, others one. */
size_t kg_utf8_width(const char *s);

#endif
