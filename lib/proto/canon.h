/* SPDX-License-Identifier: ISC */
/* Canonical JSON (security.md §4, D1): the payload KooGallery signs.
 * Top-level keys sorted by UTF-8 bytes, top-level nulls dropped, nested order
 * kept, duplicate keys resolved as "last value at the first position",
 * numbers as their literal text, Jackson-like string escaping, compact. */
#ifndef KG_CANON_H
#define KG_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "buf.h"

#define KG_CANON_MAX_DEPTH 64
/* Values (scalars and containers) in one body: about 35,000 departments of
 * an allOrgSync list, and a bound on what an unsigned body can allocate
 * (some 20 MB instead of ~90 bytes for each of 2 million numbers). */
#define KG_CANON_MAX_NODES (256 * 1024)

enum kg_canon_err {
	KG_CANON_OK,
	KG_CANON_SYNTAX,      /* not JSON, trailing bytes, bad escape or number */
	KG_CANON_NOT_OBJECT,  /* valid JSON whose top level is not an object */
	KG_CANON_DEPTH,       /* nested deeper than KG_CANON_MAX_DEPTH */
	KG_CANON_UTF8,        /* invalid UTF-8 or a lone surrogate escape */
	KG_CANON_KEY,         /* a key holding a control character (NUL included) */
	KG_CANON_TOO_MANY,    /* more than KG_CANON_MAX_NODES values */
};
/* The refusal's wording for the log ("body is not valid JSON"). */
const char *kg_canon_error(enum kg_canon_err e);

/* One parsed body: the canonical text, the V1 key=value strings and the
 * handler's json-c view all come from this one tree, so what is verified is
 * what the handler reads. The input must outlive it (numbers point into it). */
struct kg_jdoc;
enum kg_canon_err kg_jdoc_parse(const char *in, size_t n, struct kg_jdoc **out);
void kg_jdoc_free(struct kg_jdoc *d);
/* Appends the canonical form (below). */
void kg_jdoc_canon(const struct kg_jdoc *d, struct kbuf *out);
/* A top-level member as text (a string's content, a number's literal,
 * containers as compact JSON); false when absent or null. */
bool kg_jdoc_member(const struct kg_jdoc *d, const char *key, struct kbuf *out);
/* The body as a json-c object (new reference), built from the tree. */
json_object *kg_jdoc_json(const struct kg_jdoc *d);

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
void kg_jdoc_kv(const struct kg_jdoc *d, enum kg_kv_variant v, struct kbuf *out);

#endif
