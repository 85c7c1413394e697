/* SPDX-License-Identifier: ISC */
/* Regressions from tests/fuzz: identities cut inside a UTF-8 character (K1),
 * list strings with bytes after the array (K2), login_cas_parse and n (L1). */
#include "unit.h"
#include <json-c/json.h>
#include "codec.h"
#include "kit.h"
#include "login.h"

static void long_name(char *out, size_t n)   /* n x U+5F20, 3 bytes each */
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		strcat(out, "\xe5\xbc\xa0");
}

TEST(cas_json_long_name_stays_utf8)
{
	char name[43 * 3 + 1], body[512], why[200] = "";
	struct login_identity id;

	long_name(name, 43);
	snprintf(body, sizeof body, "{\"serviceResponse\":{\"authenticationSuccess\":{\"user\":\"zhangsan\","
	         "\"attributes\":{\"name\":\"%s\",\"userName\":\"zhangsan\"}}}}", name);
	CHECK_INT_EQ(login_cas_parse(body, strlen(body), &id, why, sizeof why), LOGIN_OK);
	CHECK_STR_EQ(id.user, "zhangsan");
	CHECK_MSG(kg_utf8_valid(id.name, strlen(id.name)), "name cut inside a character (%zu bytes)", strlen(id.name));
}

TEST(cas_xml_long_name_stays_utf8)
{
	char name[43 * 3 + 1], body[512], why[200] = "";
	struct login_identity id;

	long_name(name, 43);
	snprintf(body, sizeof body, "<cas:serviceResponse><cas:authenticationSuccess><cas:user>zhangsan</cas:user>"
	         "<cas:attributes><cas:name>%s</cas:name></cas:attributes></cas:authenticationSuccess>"
	         "</cas:serviceResponse>", name);
	CHECK_INT_EQ(login_cas_parse(body, strlen(body), &id, why, sizeof why), LOGIN_OK);
	CHECK_MSG(kg_utf8_valid(id.name, strlen(id.name)), "name cut inside a character (%zu bytes)", strlen(id.name));
}

TEST(cas_xml_long_role_stays_utf8)
{
	char role[11 * 3 + 1], body[512], why[200] = "";
	struct login_identity id;

	long_name(role, 11);        /* 33 bytes into role[33] */
	snprintf(body, sizeof body, "<cas:authenticationSuccess><cas:user>u</cas:user><cas:role>%s</cas:role>"
	         "</cas:authenticationSuccess>", role);
	CHECK_INT_EQ(login_cas_parse(body, strlen(body), &id, why, sizeof why), LOGIN_OK);
	CHECK_MSG(kg_utf8_valid(id.role, strlen(id.role)), "role cut inside a character");
}

TEST(cas_parse_stays_within_n)   /* L1: meaningful under ASan (make sanitize) */
{
	static const char xml[] = "<cas:serviceResponse>", json[] = "{\"serviceResponse\":{}}";
	char *b = malloc(sizeof xml - 1), *j = malloc(sizeof json - 1), why[200];
	struct login_identity id;

	memcpy(b, xml, sizeof xml - 1);      /* no terminator */
	memcpy(j, json, sizeof json - 1);
	CHECK_INT_EQ(login_cas_parse(b, sizeof xml - 1, &id, why, sizeof why), LOGIN_UPSTREAM);
	CHECK_INT_EQ(login_cas_parse(j, sizeof json - 1, &id, why, sizeof why), LOGIN_UPSTREAM);
	free(b);
	free(j);
}

static json_object *list_of(const char *text)
{
	static const char *const names[] = { "orgInfoList", "orgInfo", NULL };
	json_object *body = json_object_new_object(), *l;
	char why[160] = "";

	json_object_object_add(body, "orgInfo", json_object_new_string(text));
	l = kit_list(body, names, why, sizeof why);
	json_object_put(body);
	return l;
}

TEST(kit_list_refuses_bytes_after_the_array)
{
	json_object *l = list_of("[{\"orgCode\":\"00000001\"}] [{\"orgCode\":\"00000002\"}]");

	CHECK_MSG(l == NULL, "accepted as %s", json_object_to_json_string(l));
	json_object_put(l);
	l = list_of("[{orgCode:\"00000001\"}]]");
	CHECK_MSG(l == NULL, "lax form accepted as %s", json_object_to_json_string(l));
	json_object_put(l);
}

TEST(kit_list_allows_whitespace_after_the_array)
{
	json_object *l = list_of("[{\"orgCode\":\"00000001\"}] \n");

	CHECK(l != NULL && json_object_array_length(l) == 1);
	json_object_put(l);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(cas_json_long_name_stays_utf8), UNIT(cas_xml_long_name_stays_utf8),
		UNIT(cas_xml_long_role_stays_utf8), UNIT(cas_parse_stays_within_n),
		UNIT(kit_list_refuses_bytes_after_the_array), UNIT(kit_list_allows_whitespace_after_the_array),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
