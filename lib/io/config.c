/* SPDX-License-Identifier: ISC */
#include "config.h"
#include "ck.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kg_config kg_cfg;

enum ktype { K_STR, K_INT, K_SIZE, K_KEYS, K_HEX32, K_PROVISION };

static const struct key {
	const char *name;
	enum ktype  type;
	size_t      off;
	const char *def;
	long        min, max;
} keys[] = {
#define O(f) offsetof(struct kg_config, f)
	{ "db",                  K_STR,       O(db),                "dbname=koogate", 0, 0 },
	{ "db_timeout",          K_INT,       O(db_timeout),        "2",       1, 60 },
	{ "basic_keys",          K_KEYS,      O(basic_keys),        "",        0, 0 },
	{ "kit_keys",            K_KEYS,      O(kit_keys),          "",        0, 0 },
	{ "master_key",          K_HEX32,     O(master_key),        "",        0, 0 },
	{ "v2_window",           K_INT,       O(v2_window),         "60",      1, 3600 },
	{ "nonce_ttl",           K_INT,       O(nonce_ttl),         "120",     2, 86400 },
	{ "v1_max_age",          K_INT,       O(v1_max_age),        "86400",   0, 31 * 86400 },
	{ "body_limit",          K_SIZE,      O(body_limit),        "4194304", 1024, 64L << 20 },
	{ "call_retention_days", K_INT,       O(call_retention_days), "90",    0, 36500 },
	{ "encrypt_type",        K_INT,       O(encrypt_type),      "1",       1, 2 },
	{ "provision_mode",      K_PROVISION, O(provision_mode),    "auto",    0, 0 },
	{ "app_front_end_url",   K_STR,       O(app_front_end_url), "https://app.example.com/?instance={instanceId}", 0, 0 },
	{ "app_admin_url",       K_STR,       O(app_admin_url),     "",        0, 0 },
	{ "app_memo",            K_STR,       O(app_memo),          "",        0, 0 },
	{ "test_user_name",      K_STR,       O(test_user_name),    "test-admin", 0, 0 },
	{ "test_password",       K_STR,       O(test_password),     "Test-Passw0rd", 0, 0 },
	{ "change_check_refuse", K_STR,       O(change_check_refuse), "",      0, 0 },
	{ "mkt_url",             K_STR,       O(mkt_url),           "https://mkt.myhuaweicloud.com", 0, 0 },
	{ "mkt_fallback_url",    K_STR,       O(mkt_fallback_url),  "https://mkt.myhuaweicloud.cn", 0, 0 },
	{ "apig_ak",             K_STR,       O(apig_ak),           "",        0, 0 },
	{ "apig_sk",             K_STR,       O(apig_sk),           "",        0, 0 },
	{ "ca_file",             K_STR,       O(ca_file),           "",        0, 0 },
	{ "order_fetch_hours",   K_INT,       O(order_fetch_hours), "24",      1, 24 * 30 },
	{ "order_fetch_inline",  K_INT,       O(order_fetch_inline), "1",      0, 1 },
	{ "rsa_private_key",     K_STR,       O(rsa_private_key),   "",        0, 0 },
	{ "app_id",              K_STR,       O(app_id),            "",        0, 0 },
	{ "login_unified_url",   K_STR,       O(login_unified_url),
	  "https://macroverse.huaweicloud.com/unified-login/#/portal-login?ind=UNOP&appId={appId}", 0, 0 },
	{ "login_callback_url",  K_STR,       O(login_callback_url), "",       0, 0 },
	{ "cas_callback_url",    K_STR,       O(cas_callback_url),  "",        0, 0 },
	{ "login_landing_url",   K_STR,       O(login_landing_url), "/koogate/session?view=page", 0, 0 },
	{ "logout_redirect_url", K_STR,       O(logout_redirect_url), "",      0, 0 },
	{ "login_mode",          K_STR,       O(login_mode),        "web",     0, 0 },
	{ "login_require_grant", K_INT,       O(login_require_grant), "0",     0, 1 },
	{ "cas_tenant",          K_STR,       O(cas_tenant),        "",        0, 0 },
	{ "session_idle",        K_INT,       O(session_idle),      "1800",    60, 7 * 86400 },
	{ "session_max",         K_INT,       O(session_max),       "28800",   60, 30 * 86400 },
	{ "cookie_samesite",     K_STR,       O(cookie_samesite),   "",        0, 0 },   /* by login_mode */
	{ "frame_ancestors",     K_STR,       O(frame_ancestors),   "",        0, 0 },   /* by login_mode */
	{ "idp_timeout_ms",      K_INT,       O(idp_timeout_ms),    "4000",    100, 30000 },
	{ "log_file",            K_STR,       O(log_file),          "",        0, 0 },
	{ "usage_api",           K_STR,       O(usage_api),         "new",     0, 0 },
	{ "usage_url",           K_STR,       O(usage_url),         "",        0, 0 },
	{ "usage_fallback_url",  K_STR,       O(usage_fallback_url), "",       0, 0 },
	{ "usage_key",           K_STR,       O(usage_key),         "",        0, 0 },
	{ "usage_apig",          K_INT,       O(usage_apig),        "0",       0, 1 },
	{ "usage_window",        K_INT,       O(usage_window),      "3600",    60, 86400 },
	{ "usage_timeout",       K_INT,       O(usage_timeout),     "10",      1, 120 },
	{ "usage_token",         K_STR,       O(usage_token),       "",        0, 0 },
	{ "usage_info",          K_INT,       O(usage_info),        "1",       0, 1 },
	{ "usage_on_demand_products", K_STR,  O(usage_on_demand_products), "", 0, 0 },
	{ "usage_package_products", K_STR,    O(usage_package_products), "",   0, 0 },
	{ "worker_command",      K_STR,       O(worker_command),    "",        0, 0 },
	{ "worker_on_created",   K_STR,       O(worker_on_created), "",        0, 0 },
	{ "worker_on_renewed",   K_STR,       O(worker_on_renewed), "",        0, 0 },
	{ "worker_on_frozen",    K_STR,       O(worker_on_frozen),  "",        0, 0 },
	{ "worker_on_unfrozen",  K_STR,       O(worker_on_unfrozen), "",       0, 0 },
	{ "worker_on_released",  K_STR,       O(worker_on_released), "",       0, 0 },
	{ "worker_on_upgraded",  K_STR,       O(worker_on_upgraded), "",       0, 0 },
	{ "worker_on_order_fetched", K_STR,   O(worker_on_order_fetched), "",  0, 0 },
	{ "worker_on_kit",       K_STR,       O(worker_on_kit),     "",        0, 0 },
	{ "worker_timeout",      K_INT,       O(worker_timeout),    "30",      1, 3600 },
	{ "worker_max_attempts", K_INT,       O(worker_max_attempts), "20",    1, 1000 },
	{ "worker_test_events",  K_INT,       O(worker_test_events), "0",      0, 1 },
#undef O
};
#define NKEYS (sizeof keys / sizeof *keys)

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static bool set_keyring(struct kg_keyring *ring, const char *v, char *err, size_t errlen,
                        const char *name)
{
	char *copy = ck_strdup(v), *save = NULL, *tok;

	for (size_t i = 0; i < ring->n; i++)
		free(ring->keys[i]);
	ring->n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (!*tok)
			continue;
		if (ring->n == KG_MAX_KEYS) {
			snprintf(err, errlen, "%s: at most %d keys", name, KG_MAX_KEYS);
			free(copy);
			return false;
		}
		ring->keys[ring->n++] = ck_strdup(tok);
	}
	ck_memzero(copy, strlen(v));
	free(copy);
	return true;
}

static bool set_value(const struct key *k, const char *v, char *err, size_t errlen)
{
	void *field = (char *)&kg_cfg + k->off;
	char *end;
	long n;

	switch (k->type) {
	case K_STR:
		free(*(char **)field);
		*(char **)field = ck_strdup(v);
		return true;
	case K_INT:
	case K_SIZE:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < k->min || n > k->max) {
			snprintf(err, errlen, "%s: expected a number from %ld to %ld, got \"%s\"",
			         k->name, k->min, k->max, v);
			return false;
		}
		if (k->type == K_INT)
			*(int *)field = (int)n;
		else
			*(size_t *)field = (size_t)n;
		return true;
	case K_KEYS:
		return set_keyring(field, v, err, errlen, k->name);
	case K_HEX32: {
		unsigned char *out = field;
		if (!*v) {
			kg_cfg.has_master_key = false;
			return true;
		}
		if (strlen(v) != 2 * KG_MASTER_KEY_LEN) {
			snprintf(err, errlen, "%s: expected %d hex digits", k->name, 2 * KG_MASTER_KEY_LEN);
			return false;
		}
		for (size_t i = 0; i < KG_MASTER_KEY_LEN; i++) {
			unsigned b;
			if (sscanf(v + 2 * i, "%2x", &b) != 1 || !isxdigit((unsigned char)v[2 * i]) ||
			    !isxdigit((unsigned char)v[2 * i + 1])) {
				snprintf(err, errlen, "%s: expected hex digits", k->name);
				return false;
			}
			out[i] = (unsigned char)b;
		}
		kg_cfg.has_master_key = true;
		return true;
	}
	case K_PROVISION:
		if (strcmp(v, "auto") == 0)
			kg_cfg.provision_mode = KG_PROVISION_AUTO;
		else if (strcmp(v, "external") == 0)
			kg_cfg.provision_mode = KG_PROVISION_EXTERNAL;
		else {
			snprintf(err, errlen, "%s: expected auto or external, got \"%s\"", k->name, v);
			return false;
		}
		return true;
	}
	return false;
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* A URL a Secure cookie can come back to: HTTPS, or plain HTTP on the
 * loopback address, which browsers treat as a secure context. */
static bool secure_url(const char *url)
{
	size_t host;

	if (strncmp(url, "https://", 8) == 0)
		return true;
	if (strncmp(url, "http://", 7) != 0)
		return false;
	url += 7;
	host = strcspn(url, ":/?#");
	return (host == 9 && strncmp(url, "localhost", 9) == 0) ||
	       (host == 9 && strncmp(url, "127.0.0.1", 9) == 0) || strncmp(url, "[::1]", 5) == 0;
}

/* login.md §11: the workbench shows the login pages in a cross-site iframe,
 * where only a SameSite=None cookie is sent (and browsers keep those only
 * when Secure), and only a frame-ancestors naming the workbench lets the
 * page load. The defaults follow login_mode; what cannot work is refused. */
static bool check_login(char *err, size_t errlen)
{
	bool wb = strcmp(kg_cfg.login_mode, "workbench") == 0;
	const char *url;

	if (!*kg_cfg.cookie_samesite)
		set_value(find_key("cookie_samesite"), wb ? "None" : "Lax", err, errlen);
	if (strcmp(kg_cfg.cookie_samesite, "Lax") && strcmp(kg_cfg.cookie_samesite, "Strict") &&
	    strcmp(kg_cfg.cookie_samesite, "None")) {
		snprintf(err, errlen, "cookie_samesite: expected Lax, Strict or None");
		return false;
	}
	if (wb && strcmp(kg_cfg.cookie_samesite, "None")) {
		snprintf(err, errlen, "cookie_samesite: login_mode = workbench needs None (the session cookie "
		         "of a cross-site iframe is not sent with %s; login.md §11)", kg_cfg.cookie_samesite);
		return false;
	}
	if (!*kg_cfg.frame_ancestors) {
		if (wb) {
			snprintf(err, errlen, "frame_ancestors: login_mode = workbench needs the workbench origin "
			         "(e.g. frame_ancestors = https://workbench.example.com; login.md §11)");
			return false;
		}
		set_value(find_key("frame_ancestors"), "'self'", err, errlen);
	} else if (wb && (strcmp(kg_cfg.frame_ancestors, "'self'") == 0 ||
	                  strcmp(kg_cfg.frame_ancestors, "'none'") == 0)) {
		snprintf(err, errlen, "frame_ancestors: %s forbids the workbench iframe (login_mode = workbench)",
		         kg_cfg.frame_ancestors);
		return false;
	}
	if (strcmp(kg_cfg.cookie_samesite, "None") == 0)
		for (int i = 0; i < 2; i++) {
			url = i ? kg_cfg.cas_callback_url : kg_cfg.login_callback_url;
			if (*url && !secure_url(url)) {
				snprintf(err, errlen, "%s: SameSite=None cookies are Secure: the URL must be HTTPS, got %s",
				         i ? "cas_callback_url" : "login_callback_url", url);
				return false;
			}
		}
	return true;
}

/* Configured values that reach an answer must fit what the seller console
 * accepts: frontEndUrl at most 512 characters with the longest instance id
 * (64 characters, each percent-encoded), the test account at most 31 bytes
 * (D17), resultMsg at most 255. */
static bool check_answers(char *err, size_t errlen)
{
	static const char mark[] = "{instanceId}";
	const char *p = kg_cfg.app_front_end_url;
	size_t len = strlen(p);

	while ((p = strstr(p, mark))) {
		len += 64 * 3 - (sizeof mark - 1);
		p += sizeof mark - 1;
	}
	if (!*kg_cfg.app_front_end_url || len > 512) {
		snprintf(err, errlen, "app_front_end_url: frontEndUrl must be 1 to 512 characters; with a 64-character "
		         "instance id this one can reach %zu", len);
		return false;
	}
	if (strlen(kg_cfg.test_user_name) > 31 || strlen(kg_cfg.test_password) > 31) {
		snprintf(err, errlen, "%s: at most 31 bytes, so that it fits 60 characters encrypted (D17)",
		         strlen(kg_cfg.test_user_name) > 31 ? "test_user_name" : "test_password");
		return false;
	}
	if (strlen(kg_cfg.change_check_refuse) > 255) {
		snprintf(err, errlen, "change_check_refuse: resultMsg is at most 255 characters");
		return false;
	}
	return true;
}

bool kg_config_load(const char *path, char *err, size_t errlen)
{
	char line[4096];
	FILE *f;
	int lineno = 0;
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].def && !set_value(&keys[i], keys[i].def, err, errlen))
			return false;
	if (!path)
		path = getenv("KOOGATE_CONFIG");
	if (path && *path) {
		if (!(f = fopen(path, "r"))) {
			snprintf(err, errlen, "cannot open configuration %s: %s", path, strerror(errno));
			return false;
		}
		while (fgets(line, sizeof line, f)) {
			char *s, *eq;
			const struct key *k;

			lineno++;
			if (!strchr(line, '\n') && !feof(f)) {
				snprintf(err, errlen, "%s:%d: line too long", path, lineno);
				fclose(f);
				return false;
			}
			s = trim(line);
			if (*s == '#' || *s == '\0')
				continue;
			if (!(eq = strchr(s, '='))) {
				snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
				fclose(f);
				return false;
			}
			*eq = '\0';
			if (!(k = find_key(trim(s)))) {
				snprintf(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno, trim(s));
				fclose(f);
				return false;
			}
			if (!set_value(k, trim(eq + 1), err, errlen)) {
				fclose(f);
				return false;
			}
		}
		ck_memzero(line, sizeof line);
		fclose(f);
	}
	for (i = 0; i < NKEYS; i++) {
		char env[64], *p;
		const char *v;

		snprintf(env, sizeof env, "KOOGATE_%s", keys[i].name);
		for (p = env; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		if ((v = getenv(env)) && !set_value(&keys[i], v, err, errlen))
			return false;
	}
	if (strcmp(kg_cfg.login_mode, "web") && strcmp(kg_cfg.login_mode, "workbench")) {
		snprintf(err, errlen, "login_mode: expected web or workbench");
		return false;
	}
	if (!check_login(err, errlen) || !check_answers(err, errlen))
		return false;
	if (strcmp(kg_cfg.usage_api, "new") && strcmp(kg_cfg.usage_api, "old")) {
		snprintf(err, errlen, "usage_api: expected new or old");
		return false;
	}
	if (kg_cfg.basic_keys.n == 0) {
		snprintf(err, errlen, "basic_keys: no basic-interface access key configured");
		return false;
	}
	return true;
}

static void wipe_str(char **s)
{
	if (*s && **s) {
		ck_memzero(*s, strlen(*s));
		free(*s);
		*s = ck_strdup("");
	}
}

void kg_config_drop_secrets(bool keep_master_key, bool keep_apig)
{
	if (!keep_master_key) {
		ck_memzero(kg_cfg.master_key, sizeof kg_cfg.master_key);
		kg_cfg.has_master_key = false;
	}
	if (!keep_apig)
		wipe_str(&kg_cfg.apig_sk);
	wipe_str(&kg_cfg.usage_key);
}

const char *kg_config_login_problem(const char *mode)
{
	if (strcmp(mode, "web") == 0 && !*kg_cfg.app_id)
		return "app_id is not configured (the app credential's appId; web-mode login needs it)";
	if (strcmp(mode, "workbench") == 0 && !*kg_cfg.login_callback_url)
		return "login_callback_url is not configured (workbench-mode login needs it)";
	if (strcmp(mode, "cas") == 0 && !*kg_cfg.cas_callback_url)
		return "cas_callback_url is not configured (CAS login needs it)";
	return NULL;
}
