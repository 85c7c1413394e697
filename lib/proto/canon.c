/* SPDX-License-Identifier: ISC */
#include "canon.h"
#include "ck.h"
#include "codec.h"

#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_TRUE, J_FALSE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode;
struct jmember {
	char         *key;
	size_t        keylen;
	struct jnode *val;
	size_t        pos;    /* position of arrival, for stable de-duplication */
};

/* Kept small: an unauthenticated body may hold KG_CANON_MAX_NODES of them. */
struct jnode {
	enum jtype      type;
	size_t          n, cap;       /* J_ARR, J_OBJ */
	union {
		struct { const char *lit; size_t litlen; };   /* J_NUM: literal text inside the input */
		struct { char *str; size_t strlen; };         /* J_STR: decoded bytes */
		struct jnode  **items;                        /* J_ARR */
		struct jmember *members;                      /* J_OBJ */
	};
};

struct parser {
	const char *p, *end;
	size_t      nodes;
	enum kg_canon_err err;
};

struct kg_jdoc {
	struct jnode *root;
};

static void node_free(struct jnode *j)
{
	size_t i;

	if (!j)
		return;
	if (j->type == J_ARR) {
		for (i = 0; i < j->n; i++)
			node_free(j->items[i]);
		free(j->items);
	} else if (j->type == J_OBJ) {
		for (i = 0; i < j->n; i++) {
			free(j->members[i].key);
			node_free(j->members[i].val);
		}
		free(j->members);
	} else if (j->type == J_STR) {
		free(j->str);
	}
	free(j);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct jnode *fail(struct parser *ps, enum kg_canon_err e, struct jnode *j)
{
	if (ps->err == KG_CANON_OK)
		ps->err = e;
	node_free(j);
	return NULL;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct kbuf *b, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		kbuf_put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		kbuf_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		kbuf_put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		kbuf_put(b, u, 4);
	}
}

/* Parses a string at ps->p (which points at the opening quote). */
static int parse_string(struct parser *ps, char **out, size_t *outlen)
{
	struct kbuf b = { 0 };
	const char *run;

	ps->p++;
	run = ps->p;
	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end)
			goto syntax;
		c = (unsigned char)*ps->p;
		if (c == '"')
			break;
		if (c < 0x20)
			goto syntax;
		if (c != '\\') {
			ps->p++;
			continue;
		}
		kbuf_put(&b, run, (size_t)(ps->p - run));
		if (ps->end - ps->p < 2)
			goto syntax;
		switch (ps->p[1]) {
		case '"': kbuf_putc(&b, '"'); break;
		case '\\': kbuf_putc(&b, '\\'); break;
		case '/': kbuf_putc(&b, '/'); break;
		case 'b': kbuf_putc(&b, '\b'); break;
		case 'f': kbuf_putc(&b, '\f'); break;
		case 'n': kbuf_putc(&b, '\n'); break;
		case 'r': kbuf_putc(&b, '\r'); break;
		case 't': kbuf_putc(&b, '\t'); break;
		case 'u': {
			unsigned cp, lo;

			if (ps->end - ps->p < 6 || hex4(ps->p + 2, &cp) < 0)
				goto syntax;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				goto utf8;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (ps->end - ps->p < 12 || ps->p[6] != '\\' || ps->p[7] != 'u' ||
				    hex4(ps->p + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					goto utf8;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				ps->p += 6;
			}
			put_utf8(&b, cp);
			ps->p += 4;
			break;
		}
		default:
			goto syntax;
		}
		ps->p += 2;
		run = ps->p;
	}
	kbuf_put(&b, run, (size_t)(ps->p - run));
	ps->p++;
	if (!b.p)
		kbuf_reserve(&b, 0);
	*out = b.p;
	*outlen = b.len;
	return 0;
syntax:
	ps->err = ps->err ? ps->err : KG_CANON_SYNTAX;
	kbuf_free(&b);
	return -1;
utf8:
	ps->err = ps->err ? ps->err : KG_CANON_UTF8;
	kbuf_free(&b);
	return -1;
}

static int is_digit(const struct parser *ps)
{
	return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static int parse_number(struct parser *ps, struct jnode *j)
{
	const char *start = ps->p;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (!is_digit(ps))
		return -1;
	if (*ps->p == '0')
		ps->p++;
	else
		while (is_digit(ps))
			ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!is_digit(ps))
			return -1;
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!is_digit(ps))
			return -1;
		while (is_digit(ps))
			ps->p++;
	}
	j->type = J_NUM;
	j->lit = start;
	j->litlen = (size_t)(ps->p - start);
	return 0;
}

static int member_cmp(const void *a, const void *b)
{
	const struct jmember *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int pos_cmp(const void *a, const void *b)
{
	const struct jmember *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Duplicate keys: the last value wins, at the position of the first key. */
static void dedupe_members(struct jnode *j)
{
	size_t i, k, out = 0;

	if (j->n < 2)
		return;
	qsort(j->members, j->n, sizeof *j->members, member_cmp);
	for (i = 0; i < j->n; i = k) {
		for (k = i + 1; k < j->n && j->members[k].keylen == j->members[i].keylen &&
		     memcmp(j->members[k].key, j->members[i].key, j->members[i].keylen) == 0; k++)
			;
		if (k - i > 1) {
			struct jmember keep = j->members[k - 1];
			size_t m;

			keep.pos = j->members[i].pos;
			for (m = i; m < k - 1; m++) {
				free(j->members[m].key);
				node_free(j->members[m].val);
			}
			j->members[out++] = keep;
		} else {
			j->members[out++] = j->members[i];
		}
	}
	j->n = out;
	qsort(j->members, j->n, sizeof *j->members, pos_cmp);
}

/* A key with a control character (NUL included) would read differently in a
 * C string than in the signed text: refused. */
static bool has_control(const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7F)
			return true;
	return false;
}

/* Steps past an opening bracket; true (and past it) when the container is empty. */
static bool open_container(struct parser *ps, char close)
{
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return true;
	}
	return false;
}

static struct jnode *parse_value(struct parser *ps, int depth)
{
	struct jnode *j;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, KG_CANON_SYNTAX, NULL);
	/* depth counts containers: a scalar inside the deepest one is fine */
	if ((*ps->p == '{' || *ps->p == '[') && depth > KG_CANON_MAX_DEPTH)
		return fail(ps, KG_CANON_DEPTH, NULL);
	/* Bounds what an unauthenticated body can make us allocate. */
	if (++ps->nodes > KG_CANON_MAX_NODES)
		return fail(ps, KG_CANON_TOO_MANY, NULL);
	j = ck_calloc(1, sizeof *j);
	switch (*ps->p) {
	case '{':
		j->type = J_OBJ;
		if (open_container(ps, '}'))
			return j;
		for (;;) {
			struct jmember m = { 0 };

			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, KG_CANON_SYNTAX, j);
			if (parse_string(ps, &m.key, &m.keylen) < 0)
				return fail(ps, KG_CANON_SYNTAX, j);
			if (has_control(m.key, m.keylen)) {
				free(m.key);
				return fail(ps, KG_CANON_KEY, j);
			}
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(m.key);
				return fail(ps, KG_CANON_SYNTAX, j);
			}
			ps->p++;
			if (!(m.val = parse_value(ps, depth + 1))) {
				free(m.key);
				return fail(ps, KG_CANON_SYNTAX, j);
			}
			if (j->n == j->cap) {
				j->cap = j->cap ? 2 * j->cap : 8;
				j->members = ck_realloc(j->members, j->cap * sizeof *j->members);
			}
			m.pos = j->n;
			j->members[j->n++] = m;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == '}') {
				ps->p++;
				dedupe_members(j);
				return j;
			}
			return fail(ps, KG_CANON_SYNTAX, j);
		}
	case '[':
		j->type = J_ARR;
		if (open_container(ps, ']'))
			return j;
		for (;;) {
			struct jnode *v = parse_value(ps, depth + 1);

			if (!v)
				return fail(ps, KG_CANON_SYNTAX, j);
			if (j->n == j->cap) {
				j->cap = j->cap ? 2 * j->cap : 8;
				j->items = ck_realloc(j->items, j->cap * sizeof *j->items);
			}
			j->items[j->n++] = v;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				return j;
			}
			return fail(ps, KG_CANON_SYNTAX, j);
		}
	case '"':
		j->type = J_STR;
		if (parse_string(ps, &j->str, &j->strlen) < 0)
			return fail(ps, KG_CANON_SYNTAX, j);
		return j;
	case 't':
	case 'f':
	case 'n': {
		static const struct { const char *word; enum jtype type; } words[] = {
			{ "true", J_TRUE }, { "false", J_FALSE }, { "null", J_NULL },
		};
		for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
			size_t len = strlen(words[w].word);
			if ((size_t)(ps->end - ps->p) >= len && memcmp(ps->p, words[w].word, len) == 0) {
				ps->p += len;
				j->type = words[w].type;
				return j;
			}
		}
		return fail(ps, KG_CANON_SYNTAX, j);
	}
	default:
		if (parse_number(ps, j) < 0)
			return fail(ps, KG_CANON_SYNTAX, j);
		return j;
	}
}

static void emit(struct kbuf *out, const struct jnode *j, int sort_all);

static void emit_members(struct kbuf *out, struct jmember *m, size_t n, int drop_null, int sort_all)
{
	size_t i;
	int first = 1;

	kbuf_putc(out, '{');
	for (i = 0; i < n; i++) {
		if (drop_null && m[i].val->type == J_NULL)
			continue;
		if (!first)
			kbuf_putc(out, ',');
		first = 0;
		kbuf_put_jstr(out, m[i].key, m[i].keylen);
		kbuf_putc(out, ':');
		emit(out, m[i].val, sort_all);
	}
	kbuf_putc(out, '}');
}

static void emit_sorted(struct kbuf *out, const struct jnode *j, int drop_null, int sort_all)
{
	struct jmember *m = ck_malloc((j->n ? j->n : 1) * sizeof *m);

	/* Keys are unique after de-duplication, so member_cmp orders by key alone. */
	if (j->n)
		memcpy(m, j->members, j->n * sizeof *m);
	qsort(m, j->n, sizeof *m, member_cmp);
	emit_members(out, m, j->n, drop_null, sort_all);
	free(m);
}

static void emit(struct kbuf *out, const struct jnode *j, int sort_all)
{
	size_t i;

	switch (j->type) {
	case J_NULL: kbuf_puts(out, "null"); break;
	case J_TRUE: kbuf_puts(out, "true"); break;
	case J_FALSE: kbuf_puts(out, "false"); break;
	case J_NUM: kbuf_put(out, j->lit, j->litlen); break;
	case J_STR: kbuf_put_jstr(out, j->str, j->strlen); break;
	case J_ARR:
		kbuf_putc(out, '[');
		for (i = 0; i < j->n; i++) {
			if (i)
				kbuf_putc(out, ',');
			emit(out, j->items[i], sort_all);
		}
		kbuf_putc(out, ']');
		break;
	case J_OBJ:
		if (sort_all)
			emit_sorted(out, j, 0, sort_all);
		else
			emit_members(out, j->members, j->n, 0, sort_all);
		break;
	}
}

enum kg_canon_err kg_jdoc_parse(const char *in, size_t n, struct kg_jdoc **out)
{
	struct parser ps = { in, in + n, 0, KG_CANON_OK };
	struct jnode *root;

	*out = NULL;
	if (!kg_utf8_valid(in, n))
		return KG_CANON_UTF8;
	root = parse_value(&ps, 1);
	if (!root)
		return ps.err ? ps.err : KG_CANON_SYNTAX;
	skip_ws(&ps);
	if (ps.p != ps.end || root->type != J_OBJ) {
		node_free(root);
		return ps.p != ps.end ? KG_CANON_SYNTAX : KG_CANON_NOT_OBJECT;
	}
	*out = ck_malloc(sizeof **out);
	(*out)->root = root;
	return KG_CANON_OK;
}

void kg_jdoc_free(struct kg_jdoc *d)
{
	if (!d)
		return;
	node_free(d->root);
	free(d);
}

void kg_jdoc_canon(const struct kg_jdoc *d, struct kbuf *out)
{
	emit_sorted(out, d->root, 1, 0);
}

static void scalar_text(const struct jnode *v, struct kbuf *out)
{
	if (v->type == J_STR)
		kbuf_put(out, v->str, v->strlen);
	else
		emit(out, v, 0);
}

void kg_jdoc_kv(const struct kg_jdoc *d, enum kg_kv_variant variant, struct kbuf *out)
{
	const struct jnode *root = d->root;
	struct jmember *m = ck_malloc((root->n ? root->n : 1) * sizeof *m);
	int first = 1;

	if (root->n)
		memcpy(m, root->members, root->n * sizeof *m);
	if (variant != KG_KV_RECEIVED)
		qsort(m, root->n, sizeof *m, member_cmp);
	for (size_t i = 0; i < root->n; i++) {
		const struct jnode *v = m[i].val;
		struct kbuf dec = { 0 };

		if (v->type == J_NULL)
			continue;
		if (!first)
			kbuf_putc(out, '&');
		first = 0;
		kbuf_put(out, m[i].key, m[i].keylen);
		kbuf_putc(out, '=');
		if (v->type == J_STR && variant == KG_KV_SORTED_FORMDECODED &&
		    kg_url_decode(v->str, v->strlen, KG_URL_FORM, &dec))
			kbuf_put(out, dec.p, dec.len);
		else
			scalar_text(v, out);
		kbuf_free(&dec);
	}
	free(m);
}

bool kg_jdoc_member(const struct kg_jdoc *d, const char *key, struct kbuf *out)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < d->root->n; i++) {
		const struct jmember *m = &d->root->members[i];

		if (m->keylen == n && memcmp(m->key, key, n) == 0 && m->val->type != J_NULL) {
			scalar_text(m->val, out);
			if (!out->p)
				kbuf_reserve(out, 0);
			return true;
		}
	}
	return false;
}

/* Numbers go through json-c's own tokener, so that a handler reads them
 * exactly as a json-c parse of the body would give them. */
static json_object *to_json(const struct jnode *j, json_tokener *tok, struct kbuf *lit)
{
	json_object *o;

	switch (j->type) {
	case J_NULL: return NULL;
	case J_TRUE: return json_object_new_boolean(1);
	case J_FALSE: return json_object_new_boolean(0);
	case J_STR: return json_object_new_string_len(j->str, (int)j->strlen);
	case J_NUM:
		kbuf_reset(lit);
		kbuf_put(lit, j->lit, j->litlen);
		json_tokener_reset(tok);
		return json_tokener_parse_ex(tok, lit->p, -1);
	case J_ARR:
		o = json_object_new_array_ext((int)j->n);
		for (size_t i = 0; i < j->n; i++)
			json_object_array_add(o, to_json(j->items[i], tok, lit));
		return o;
	case J_OBJ:
		o = json_object_new_object();
		/* keys are unique (dedupe_members) and free of NUL (has_control) */
		for (size_t i = 0; i < j->n; i++)
			json_object_object_add_ex(o, j->members[i].key, to_json(j->members[i].val, tok, lit),
			                          JSON_C_OBJECT_ADD_KEY_IS_NEW);
		return o;
	}
	return NULL;
}

json_object *kg_jdoc_json(const struct kg_jdoc *d)
{
	json_tokener *tok = json_tokener_new();
	struct kbuf lit = { 0 };
	json_object *o = to_json(d->root, tok, &lit);

	kbuf_free(&lit);
	json_tokener_free(tok);
	return o;
}

static enum kg_canon_err canon(const char *in, size_t n, struct kbuf *out, int sort_all)
{
	struct kg_jdoc *d;
	enum kg_canon_err e = kg_jdoc_parse(in, n, &d);

	if (e != KG_CANON_OK)
		return e;
	emit_sorted(out, d->root, !sort_all, sort_all);
	kg_jdoc_free(d);
	return KG_CANON_OK;
}

enum kg_canon_err kg_canon_json(const char *in, size_t n, struct kbuf *out)
{
	return canon(in, n, out, 0);
}

enum kg_canon_err kg_canon_json_deep(const char *in, size_t n, struct kbuf *out)
{
	return canon(in, n, out, 1);
}

enum kg_canon_err kg_canon_kv(const char *in, size_t n, enum kg_kv_variant variant, struct kbuf *out)
{
	struct kg_jdoc *d;
	enum kg_canon_err e = kg_jdoc_parse(in, n, &d);

	if (e != KG_CANON_OK)
		return e;
	kg_jdoc_kv(d, variant, out);
	kg_jdoc_free(d);
	return KG_CANON_OK;
}

const char *kg_canon_error(enum kg_canon_err e)
{
	static const char *const why[] = {
		[KG_CANON_OK]         = "body is valid",
		[KG_CANON_SYNTAX]     = "body is not valid JSON",
		[KG_CANON_NOT_OBJECT] = "body is not a JSON object",
		[KG_CANON_DEPTH]      = "body nested too deeply",
		[KG_CANON_UTF8]       = "body is not valid UTF-8",
		[KG_CANON_KEY]        = "body has a key with a control character",
		[KG_CANON_TOO_MANY]   = "body has too many values",
	};
	return e < sizeof why / sizeof *why ? why[e] : "body is not valid JSON";
}
