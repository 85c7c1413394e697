/* SPDX-License-Identifier: ISC */
#include "kit.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "response.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct kit_interface *iface;

bool kit_is_v1(const struct kg_ctx *c)
{
	return strncmp(c->req.path_info, "/produceAPI/v2/", 15) != 0;
}

/* /produceAPI/v2/<name> or /produceAPI/<name>, nothing else. */
static bool path_ok(const char *path, const char *name)
{
	if (strncmp(path, "/produceAPI/", 12) != 0)
		return false;
	path += 12;
	if (strncmp(path, "v2/", 3) == 0)
		path += 3;
	return strcmp(path, name) == 0;
}

static void serve(struct kg_ctx *c)
{
	enum kg_result r;

	c->activity = iface->route.name;
	if (!path_ok(c->req.path_info, iface->route.name)) {
		kg_fault(c, 404, KG_V_NOT_FOUND);
		return;
	}
	if (strcmp(c->req.method, "POST") != 0) {
		kg_fault(c, 405, KG_V_BAD_METHOD);
		return;
	}
	if ((r = kit_is_v1(c) ? kg_auth_kit_v1(c) : kg_auth_kit_v2(c)) != KG_OK) {
		kg_reply(c, r, NULL, NULL);
		return;
	}
	kg_dispatch(c, &iface->route);
}

int kg_kit_main(const struct kit_interface *k)
{
	struct kg_program prog = {
		.name = k->route.name,
		.family = KG_SCHEME_KIT,
		.needs_master_key = true,
		.needs_rsa_key = k->needs_rsa_key,
		.serve = serve,
		.ok_msg = "Success",
	};

	iface = k;
	return kg_main(&prog);
}

const char *kit_text(json_object *item, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(item, name, &v) || !v)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		return json_object_get_string(v);
	default:
		return NULL;
	}
}

bool kit_bool(const char *v, bool dflt)
{
	if (!v)
		return dflt;
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "TRUE") == 0 || strcmp(v, "True") == 0)
		return true;
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "FALSE") == 0 || strcmp(v, "False") == 0)
		return false;
	return dflt;
}

bool kit_text_ok(const char *v, size_t max, const char *name, char *why, size_t whylen)
{
	if (v && kg_utf8_len(v) > max) {
		snprintf(why, whylen, "%s is longer than %zu", name, max);
		return false;
	}
	return true;
}

void kit_lax_to_json(const char *in, size_t n, struct kbuf *out)
{
	bool in_string = false;
	char last = 0;     /* last significant character outside strings */

	for (size_t i = 0; i < n; i++) {
		char ch = in[i];

		if (in_string) {
			kbuf_putc(out, ch);
			if (ch == '\\' && i + 1 < n)
				kbuf_putc(out, in[++i]);
			else if (ch == '"')
				in_string = false;
			continue;
		}
		if (ch == '"') {
			in_string = true;
			kbuf_putc(out, ch);
			last = ch;
			continue;
		}
		if ((last == '{' || last == ',') && (isalpha((unsigned char)ch) || ch == '_' || ch == '$')) {
			size_t j = i, k;

			while (j < n && (isalnum((unsigned char)in[j]) || in[j] == '_' || in[j] == '$'))
				j++;
			for (k = j; k < n && isspace((unsigned char)in[k]); k++)
				;
			if (k < n && in[k] == ':') {
				kbuf_putc(out, '"');
				kbuf_put(out, in + i, j - i);
				kbuf_putc(out, '"');
				i = j - 1;
				last = '"';
				continue;
			}
		}
		kbuf_putc(out, ch);
		if (!isspace((unsigned char)ch))
			last = ch;
	}
}

static json_object *parse_array(const char *text, size_t n)
{
	json_tokener *tok = json_tokener_new_ex(32);
	json_object *j = json_tokener_parse_ex(tok, text, (int)n);
	size_t end = json_tokener_get_parse_end(tok);

	/* the whole string must be the list: nothing but white space after it */
	while (end < n && (text[end] == ' ' || text[end] == '\t' || text[end] == '\n' || text[end] == '\r'))
		end++;
	if (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(j, json_type_array) ||
	    end != n) {
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(tok);
	return j;
}

json_object *kit_list(json_object *body, const char *const *names, char *why, size_t whylen)
{
	json_object *v = NULL, *arr;
	const char *name = NULL;

	for (; *names && !v; names++)
		if (json_object_object_get_ex(body, *names, &v) && v)
			name = *names;
		else
			v = NULL;
	if (!v) {
		snprintf(why, whylen, "the list is missing");
		return NULL;
	}
	if (json_object_is_type(v, json_type_array))
		return json_object_get(v);
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);
		struct kbuf lax = { 0 };

		if ((arr = parse_array(s, n)))
			return arr;
		kit_lax_to_json(s, n, &lax);
		arr = lax.p ? parse_array(lax.p, lax.len) : NULL;
		kbuf_free(&lax);
		if (arr)
			return arr;
	}
	snprintf(why, whylen, "%s is not a list", name);
	return NULL;
}
