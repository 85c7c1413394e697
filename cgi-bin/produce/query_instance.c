/* SPDX-License-Identifier: ISC */
/* V2 queryInstance (basic-interfaces.md §5.2, D4, D19, D44): app info of the
 * ready instances among 1 to 100 comma-separated ids, from local state only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "produce.h"
#include "instance.h"
#include "ck.h"
#include "config.h"
#include "log.h"

#define QUERY_MAX_IDS 100

enum { QI_INSTANCE_ID, QI__MAX };

static const struct kg_field fields[QI__MAX] = {
	[QI_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 0, NULL },
};

/* Splits "a, b,c" in place; false on an empty or over-long id or too many. */
static bool split_ids(char *list, const char *ids[QUERY_MAX_IDS], size_t *n)
{
	char *save = NULL, *tok;

	*n = 0;
	for (char *p = list; *p; p++)   /* strtok would silently skip empty items */
		if (*p == ',' && (p == list || p[1] == '\0' || p[1] == ','))
			return false;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		bool dup = false;

		while (*tok == ' ')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (!*tok || end - tok > INSTANCE_ID_MAX || *n == QUERY_MAX_IDS)
			return false;
		for (size_t i = 0; i < *n; i++)
			dup |= strcmp(ids[i], tok) == 0;
		if (!dup)
			ids[(*n)++] = tok;
	}
	return *n > 0;
}

enum kg_result query_instances(struct kg_ctx *c, const char *list, struct kg_answer *a)
{
	const char *ids[QUERY_MAX_IDS];
	char *copy = ck_strdup(list);
	json_object *info;
	size_t n, known, pending;
	enum kg_result r;
	char type[4];

	if (!split_ids(copy, ids, &n)) {
		free(copy);
		return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "instanceId must be 1 to %d non-empty ids of at most "
		                 "%d characters", QUERY_MAX_IDS, INSTANCE_ID_MAX);
	}
	kg_note_ids(c, ids[0], NULL);
	info = json_object_new_array();
	r = instance_app_infos(c, ids, n, info, &known, &pending);
	free(copy);
	if (r == KG_OK && known == 0 && !c->test)
		r = KG_ENOINST;
	if (r != KG_OK) {
		json_object_put(info);
		return r;
	}
	snprintf(type, sizeof type, "%d", kg_cfg.encrypt_type);
	json_object_object_add(a->out, "encryptType", json_object_new_string(type));
	json_object_object_add(a->out, "info", info);
	return KG_OK;
}

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	return query_instances(c, v->v[QI_INSTANCE_ID], a);
}

const struct kg_route v2_query_instance = ACTIVITY("queryInstance", 2, fields, handle, NULL);

/* V1 queryInstance (§6.7): the same answer from a GET. */
static const struct kg_field v1_fields[QI__MAX] = {
	[QI_INSTANCE_ID] = { "instanceId", KG_F_REQUIRED, 0, NULL },
};

const struct kg_route v1_query_instance = ACTIVITY("queryInstance", 1, v1_fields, handle, NULL);
