/* SPDX-License-Identifier: ISC */
/* Regressions from tests/fuzz: identities cut inside a UTF-8 character (K1),
 * list strings with bytes after the array (K2), login_cas_parse and n (L1). */
#include "unit.h"
#include <errno.h>
#include <json-c/json.h>
#include <sys/mman.h>
#include <unistd.h>
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

/* n bytes of s placed at the very end of a readable page whose next page is inaccessible: a read past
 * n faults in any build, not only under ASan. *map is what to munmap (2 pages); NULL on failure. */
static const char *at_page_end(const char *s, size_t n, void **map, size_t *maplen)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*map = NULL;
	if (m == MAP_FAILED || n > pg)
		return NULL;
	if (mprotect(m + pg, pg, PROT_NONE) != 0) {
		munmap(m, 2 * pg);
		return NULL;
	}
	*map = m;
	*maplen = 2 * pg;
	return memcpy(m + pg - n, s, n);   /* no terminator: the guard page follows */
}

TEST(cas_parse_stays_within_n)   /* L1 */
{
	static const char *const bodies[] = { "<cas:serviceResponse>", "{\"serviceResponse\":{}}" };
	char why[200];
	struct login_identity id;

	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		void *map;
		size_t maplen, n = strlen(bodies[i]);
		const char *b = at_page_end(bodies[i], n, &map, &maplen);
		enum login_err r;

		CHECK_MSG(b != NULL, "no guard page: %s", strerror(errno));
		r = login_cas_parse(b, n, &id, why, sizeof why);
		munmap(map, maplen);   /* before any check: nothing is left behind when one fails */
		CHECK_INT_EQ(r, LOGIN_UPSTREAM);
	}
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
