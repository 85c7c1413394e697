/* SPDX-License-Identifier: ISC */
/* Canonical JSON (security.md §4, D1): the payload KooGallery signs.
 * Top-level keys sorted by UTF-8 bytes, top-level nulls dropped, nested order
 * kept, duplicate keys resolved as "last value at the first position",
 * numbers as their literal text, Jackson-like string escaping, compact. */
#ifndef KG_CANON_H
#define KG_CANON_H

#include <stddef.h>
#include "buf.h"

#define KG_CANON_MAX_DEPTH 64

enum kg_canon_err {
	KG_CANON_OK,
	KG_CANON_SYNTAX,      /* not JSON, trailing bytes, bad escape or number */
	KG_CANON_NOT_OBJECT,  /* valid JSON whose top level is not an object */
	KG_CANON_DEPTH,       /* nested deeper than KG_CANON_MAX_DEPTH */
	KG_CANON_UTF8         /* invalid UTF-8 or a lone surrogate escape */
};

/* Appends the canonical form of the n input bytes to out. */
enum kg_canon_err kg_canon_json(const char *in, size_t n, struct kbuf *out);
/* Appends the compact JSON of an object with every level's keys sorted
 * (D35, the usage-push body); same parser and escaping. */
enum kg_canon_err kg_canon_json_deep(const char *in, size_t n, struct kbuf *out);

/* The V1 Kit authToken string (security.md §6, D13): top-level members as
 * k=v joined by '&', nulls left out; strings as their content, numbers as
 * their literal, true/false, arrays and objects as compact JSON. */
enum kg_kv_variant {
	KG_KV_SORTED,            /* sorted by key bytes */
	KG_KV_SORTED_FORMDECODED,/* (b) string values form-URL-decoded */
	KG_KV_RECEIVED,          /* (c) members in received order */
};
enum kg_canon_err kg_canon_kv(const char *in, size_t n, enum kg_kv_variant v, struct kbuf *out);

#endif
