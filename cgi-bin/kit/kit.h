/* SPDX-License-Identifier: ISC */
/* The Kit backend (kit-interfaces.md): every sync interface is one program
 * that declares its field table and handler; this module routes V1/V2 by
 * path, authenticates with the Kit key and reads the tolerant shapes (D6). */
#ifndef KG_KIT_H
#define KG_KIT_H

#include <stdbool.h>
#include <json-c/json.h>
#include "app.h"
#include "dispatch.h"
#include "fields.h"

#define KIT_TEXT_MAX 1024   /* sanity cap for free-text fields (D21) */

struct kit_interface {
	struct kg_route route;           /* its name is the path element, e.g. "tenantSync" */
	bool            needs_rsa_key;
};
/* A Kit interface: fields from the JSON body (V1 and V2 alike). */
#define KIT_INTERFACE(name, tab, fn, rsa) { KG_ROUTE(name, 2, tab, fn, NULL), rsa }

int kg_kit_main(const struct kit_interface *k);

/* True for a V1 call (path /produceAPI/<name>), false for V2. */
bool kit_is_v1(const struct kg_ctx *c);
/* The first present member of names, as an array: a JSON array, a string
 * holding one, or a string of lax JSON with unquoted keys. New reference,
 * or NULL with a reason. */
json_object *kit_list(json_object *body, const char *const *names, char *why, size_t whylen);
/* A member of an item as text (strings, numbers, booleans), or NULL. */
const char *kit_text(json_object *item, const char *name);
/* "true"/"1" -> true, "false"/"0" -> false; others -> dflt. */
bool kit_bool(const char *v, bool dflt);
/* Text of a member, at most max characters, or why is set. */
bool kit_text_ok(const char *v, size_t max, const char *name, char *why, size_t whylen);
/* Turns unquoted object keys into quoted ones (the allOrgSync doc example). */
void kit_lax_to_json(const char *in, size_t n, struct kbuf *out);

#endif
