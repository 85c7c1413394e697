/* SPDX-License-Identifier: ISC */
/* Configuration loading (config.h) with temporary files. Each test runs in
 * its own process (unit.h), so setenv and kg_cfg do not leak between tests. */
#include "unit.h"

#include <stdlib.h>

#include "config.h"

extern char **environ;

static char cfg_path[64];
static char err[512];

/* Removes every KOOGATE_* variable so the caller's environment cannot interfere. */
static void clean_env(void)
{
	for (;;) {
		char **e, name[128];
		size_t n;

		for (e = environ; *e; e++)
			if (strncmp(*e, "KOOGATE_", 8) == 0)
				break;
		if (!*e)
			return;
		n = strcspn(*e, "=");
		if (n >= sizeof name)
			n = sizeof name - 1;
		memcpy(name, *e, n);
		name[n] = '\0';
		unsetenv(name);
	}
}

/* Writes text to a fresh temporary file; cfg_path names it. */
static void write_cfg(const char *text)
{
	int fd;
	size_t n = strlen(text);

	clean_env();
	strcpy(cfg_path, "/tmp/koogate-unit-cfg-XXXXXX");
	fd = mkstemp(cfg_path);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
		perror("mkstemp/write");
		abort();
	}
	close(fd);
}

/* Loads cfg_path, then removes the file. */
static bool load(void)
{
	bool ok;

	err[0] = '\0';
	ok = kg_config_load(cfg_path, err, sizeof err);
	unlink(cfg_path);
	return ok;
}

static bool load_text(const char *text)
{
	write_cfg(text);
	return load();
}

TEST(defaults)
{
	CHECK_MSG(load_text("basic_keys = k1\n"), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.basic_keys.n, 1);
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[0], "k1");
	CHECK_INT_EQ(kg_cfg.kit_keys.n, 0);
	CHECK_INT_EQ(kg_cfg.v2_window, 60);          /* D2 */
	CHECK_INT_EQ(kg_cfg.nonce_ttl, 120);         /* D2: twice the window */
	CHECK_INT_EQ(kg_cfg.v1_max_age, 86400);      /* D5 */
	CHECK_INT_EQ(kg_cfg.encrypt_type, 1);        /* §7.2: "1" by default */
	CHECK(!kg_cfg.has_master_key);
	CHECK(kg_cfg.provision_mode == KG_PROVISION_AUTO);
	CHECK(kg_cfg.db != NULL && *kg_cfg.db);
	CHECK(kg_cfg.body_limit > 0);
	CHECK(kg_cfg.db_timeout > 0);
}

TEST(comments_blank_lines_and_spaces)
{
	CHECK_MSG(load_text("# koogate\n\n   \n\t# indented comment\n  basic_keys =  k1  \n"
	                    "v2_window=30\r\n\nkit_keys=kit-1\n# end"), "error: %s", err);
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[0], "k1");
	CHECK_INT_EQ(kg_cfg.v2_window, 30);
	CHECK_INT_EQ(kg_cfg.kit_keys.n, 1);
	CHECK_STR_EQ(kg_cfg.kit_keys.keys[0], "kit-1");
}

TEST(no_final_newline)
{
	CHECK_MSG(load_text("basic_keys=k1\nv1_max_age=0"), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.v1_max_age, 0);
}

TEST(string_values)
{
	CHECK_MSG(load_text("basic_keys=k1\napp_memo = hello world = yes\n"
	                    "app_front_end_url=https://x.example/?i={instanceId}&a=b\n"), "error: %s", err);
	CHECK_STR_EQ(kg_cfg.app_memo, "hello world = yes");
	CHECK_STR_EQ(kg_cfg.app_front_end_url, "https://x.example/?i={instanceId}&a=b");
}

TEST(unknown_key_names_key_and_line)
{
	CHECK(!load_text("basic_keys=k1\n# comment\nv2_windwo = 30\n"));
	CHECK_MSG(strstr(err, "v2_windwo") != NULL, "error \"%s\" does not name the key", err);
	CHECK_MSG(strstr(err, ":3:") || strstr(err, "line 3"), "error \"%s\" does not name line 3", err);
}

TEST(line_without_equals)
{
	CHECK(!load_text("basic_keys=k1\n\nv2_window 30\n"));
	CHECK_MSG(strstr(err, ":3:") || strstr(err, "line 3"), "error \"%s\" does not name line 3", err);
}

TEST(bad_number_rejected)
{
	static const char *const bad[] = {
		"v2_window = abc\n", "v2_window = 60s\n", "v2_window = \n", "v2_window = 0x10\n",
		"v2_window = 1.5\n", "v2_window = -5\n", "v2_window = 0\n",
		"v2_window = 99999999999999999999\n", "encrypt_type = 3\n", "nonce_ttl = 1\n",
	};
	size_t i;

	for (i = 0; i < UNIT_COUNT(bad); i++) {
		char text[128];

		snprintf(text, sizeof text, "basic_keys=k1\n%s", bad[i]);
		CHECK_MSG(!load_text(text), "accepted \"%s\"", bad[i]);
		CHECK_MSG(strstr(err, bad[i][0] == 'v' ? "v2_window" : bad[i][0] == 'e' ? "encrypt_type" : "nonce_ttl"),
		          "error \"%s\" does not name the key", err);
	}
}

TEST(number_ranges_accepted)
{
	CHECK_MSG(load_text("basic_keys=k1\nencrypt_type=2\nv2_window=300\nnonce_ttl=600\nv1_max_age=0\n"),
	          "error: %s", err);
	CHECK_INT_EQ(kg_cfg.encrypt_type, 2);
	CHECK_INT_EQ(kg_cfg.v2_window, 300);
	CHECK_INT_EQ(kg_cfg.nonce_ttl, 600);
	CHECK_INT_EQ(kg_cfg.v1_max_age, 0);
}

TEST(environment_overrides_file)
{
	write_cfg("basic_keys=k1\nv2_window=30\n");
	setenv("KOOGATE_V2_WINDOW", "45", 1);
	CHECK_MSG(load(), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.v2_window, 45);
}

TEST(environment_overrides_default)
{
	write_cfg("basic_keys=k1\n");
	setenv("KOOGATE_V2_WINDOW", "90", 1);
	setenv("KOOGATE_KIT_KEYS", "kit-a,kit-b", 1);
	CHECK_MSG(load(), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.v2_window, 90);
	CHECK_INT_EQ(kg_cfg.kit_keys.n, 2);
	CHECK_STR_EQ(kg_cfg.kit_keys.keys[1], "kit-b");
}

TEST(environment_bad_value_rejected)
{
	write_cfg("basic_keys=k1\n");
	setenv("KOOGATE_V2_WINDOW", "soon", 1);
	CHECK(!load());
	CHECK(strstr(err, "v2_window") != NULL);
}

TEST(environment_supplies_basic_keys)
{
	write_cfg("# nothing here\n");
	setenv("KOOGATE_BASIC_KEYS", "env-key", 1);
	CHECK_MSG(load(), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.basic_keys.n, 1);
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[0], "env-key");
}

TEST(missing_basic_keys)
{
	CHECK(!load_text("kit_keys = kit-1\n"));
	CHECK_MSG(strstr(err, "basic_keys") != NULL, "error \"%s\" does not name basic_keys", err);
}

TEST(empty_basic_keys)
{
	CHECK(!load_text("basic_keys = \n"));
	CHECK(strstr(err, "basic_keys") != NULL);
	CHECK(!load_text("basic_keys = , ,\n"));
}

/* Loading again (e.g. a reload) must not keep keys from the previous file. */
TEST(reload_without_basic_keys)
{
	CHECK_MSG(load_text("basic_keys = k1\n"), "error: %s", err);
	CHECK(!load_text("kit_keys = kit-1\n"));
	CHECK(strstr(err, "basic_keys") != NULL);
}

TEST(reload_resets_values)
{
	CHECK_MSG(load_text("basic_keys = k1\nv2_window = 30\nmaster_key = "
	                    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"), "error: %s", err);
	CHECK(kg_cfg.has_master_key);
	CHECK_MSG(load_text("basic_keys = k2\n"), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.v2_window, 60);
	CHECK(!kg_cfg.has_master_key);
	CHECK_INT_EQ(kg_cfg.basic_keys.n, 1);
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[0], "k2");
}

TEST(multiple_keys)
{
	CHECK_MSG(load_text("basic_keys = new-key , old-key,,third\nkit_keys=a,b\n"), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.basic_keys.n, 3);
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[0], "new-key");
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[1], "old-key");
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[2], "third");
	CHECK_INT_EQ(kg_cfg.kit_keys.n, 2);
	CHECK_STR_EQ(kg_cfg.kit_keys.keys[0], "a");
}

TEST(too_many_keys)
{
	char text[256];

	strcpy(text, "basic_keys = k0");
	for (int i = 1; i <= KG_MAX_KEYS; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), ",k%d", i);
	strcat(text, "\n");
	CHECK(!load_text(text));
	CHECK(strstr(err, "basic_keys") != NULL);
}

TEST(master_key_hex)
{
	static const unsigned char want[KG_MASTER_KEY_LEN] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};

	CHECK_MSG(load_text("basic_keys=k1\nmaster_key = "
	                    "000102030405060708090a0b0c0d0e0f10111213141516171819AAbbCCddEEff\n"), "error: %s", err);
	CHECK(kg_cfg.has_master_key);
	CHECK_MEM_EQ(kg_cfg.master_key, KG_MASTER_KEY_LEN, want, KG_MASTER_KEY_LEN);
}

TEST(master_key_wrong_length)
{
	CHECK(!load_text("basic_keys=k1\nmaster_key = "
	                 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n"));    /* 62 */
	CHECK(strstr(err, "master_key") != NULL);
	CHECK(!load_text("basic_keys=k1\nmaster_key = "
	                 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n")); /* 66 */
	CHECK(!load_text("basic_keys=k1\nmaster_key = 0\n"));
}

TEST(master_key_not_hex)
{
	CHECK(!load_text("basic_keys=k1\nmaster_key = "
	                 "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"));
	CHECK(strstr(err, "master_key") != NULL);
	CHECK(!load_text("basic_keys=k1\nmaster_key = "
	                 "0 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"));
	CHECK(!load_text("basic_keys=k1\nmaster_key = "
	                 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e+f\n"));
}

TEST(master_key_empty_means_none)
{
	CHECK_MSG(load_text("basic_keys=k1\nmaster_key =\n"), "error: %s", err);
	CHECK(!kg_cfg.has_master_key);
}

TEST(provision_mode)
{
	CHECK_MSG(load_text("basic_keys=k1\nprovision_mode = external\n"), "error: %s", err);
	CHECK(kg_cfg.provision_mode == KG_PROVISION_EXTERNAL);
	CHECK(!load_text("basic_keys=k1\nprovision_mode = manual\n"));
	CHECK(strstr(err, "provision_mode") != NULL);
}

TEST(missing_file)
{
	clean_env();
	CHECK(!kg_config_load("/nonexistent/koogate.conf", err, sizeof err));
	CHECK(strstr(err, "/nonexistent/koogate.conf") != NULL);
}

TEST(path_from_environment)
{
	write_cfg("basic_keys = from-env-path\n");
	setenv("KOOGATE_CONFIG", cfg_path, 1);
	err[0] = '\0';
	CHECK_MSG(kg_config_load(NULL, err, sizeof err), "error: %s", err);
	unlink(cfg_path);
	CHECK_STR_EQ(kg_cfg.basic_keys.keys[0], "from-env-path");
}

/* The configuration is refused with a message naming key. */
static void refuses(const char *text, const char *key)
{
	CHECK_MSG(!load_text(text), "accepted: %s", text);
	CHECK_MSG(strstr(err, key) != NULL, "error \"%s\" does not name %s", err, key);
}

TEST(protocol_defaults)
{
	CHECK_MSG(load_text("basic_keys = k1\n"), "error: %s", err);
	CHECK_INT_EQ(kg_cfg.usage_info, 1);            /* D14 revised */
	CHECK_INT_EQ(kg_cfg.login_require_grant, 0);   /* D34 */
	CHECK_STR_EQ(kg_cfg.cookie_samesite, "Lax");   /* web mode */
	CHECK_STR_EQ(kg_cfg.frame_ancestors, "'self'");
}

TEST(workbench_defaults_to_samesite_none)
{
	CHECK_MSG(load_text("basic_keys = k1\nlogin_mode = workbench\nframe_ancestors = https://wb.example.com\n"
	                    "login_callback_url = https://app.example.com/koogate/callback\n"), "error: %s", err);
	CHECK_STR_EQ(kg_cfg.cookie_samesite, "None");
	CHECK_STR_EQ(kg_cfg.frame_ancestors, "https://wb.example.com");
}

TEST(workbench_needs_frame_ancestors)
{
	refuses("basic_keys = k1\nlogin_mode = workbench\n", "frame_ancestors");
	refuses("basic_keys = k1\nlogin_mode = workbench\nframe_ancestors = 'self'\n", "frame_ancestors");
}

TEST(workbench_refuses_lax)
{
	refuses("basic_keys = k1\nlogin_mode = workbench\nframe_ancestors = https://wb.example.com\n"
	                 "cookie_samesite = Lax\n", "cookie_samesite");
}

TEST(samesite_none_needs_https)
{
	refuses("basic_keys = k1\ncookie_samesite = None\n"
	                 "login_callback_url = http://app.example.com/koogate/callback\n", "login_callback_url");
	refuses("basic_keys = k1\ncookie_samesite = None\n"
	                 "cas_callback_url = http://127.0.0.1.example.com/koogate/cas-callback\n", "cas_callback_url");
	/* loopback is a secure context for browsers (the test stacks) */
	CHECK_MSG(load_text("basic_keys = k1\ncookie_samesite = None\n"
	                    "login_callback_url = http://127.0.0.1:8080/koogate/callback\n"), "error: %s", err);
}

TEST(front_end_url_length_with_longest_id)
{
	char text[1200];

	/* 321 + 192 (64 characters percent-encoded) - 12 = 501: fits */
	snprintf(text, sizeof text, "basic_keys = k1\napp_front_end_url = https://a.example/%0*d?i={instanceId}\n",
	         321 - 33, 0);
	CHECK_MSG(load_text(text), "error: %s", err);
	snprintf(text, sizeof text, "basic_keys = k1\napp_front_end_url = https://a.example/%0*d?i={instanceId}\n",
	         321 - 33 + 12, 0);
	refuses(text, "app_front_end_url");
	snprintf(text, sizeof text, "basic_keys = k1\napp_front_end_url = https://a.example/%0*d\n", 513 - 18, 0);
	CHECK(!load_text(text));
	refuses("basic_keys = k1\napp_front_end_url =\n", "app_front_end_url");
}

TEST(test_account_at_most_31_bytes)
{
	CHECK_MSG(load_text("basic_keys = k1\ntest_user_name = 1234567890123456789012345678901\n"), "error: %s", err);
	refuses("basic_keys = k1\ntest_user_name = 12345678901234567890123456789012\n", "test_user_name");
	refuses("basic_keys = k1\ntest_password = \xe5\xaf\x86\xe7\xa0\x81\xe5\xaf\x86\xe7\xa0\x81"
	                 "\xe5\xaf\x86\xe7\xa0\x81\xe5\xaf\x86\xe7\xa0\x81\xe5\xaf\x86\xe7\xa0\x81\xe5\xaf\x86\n", "test_password");
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(defaults),
		UNIT(comments_blank_lines_and_spaces),
		UNIT(no_final_newline),
		UNIT(string_values),
		UNIT(unknown_key_names_key_and_line),
		UNIT(line_without_equals),
		UNIT(bad_number_rejected),
		UNIT(number_ranges_accepted),
		UNIT(environment_overrides_file),
		UNIT(environment_overrides_default),
		UNIT(environment_bad_value_rejected),
		UNIT(environment_supplies_basic_keys),
		UNIT(missing_basic_keys),
		UNIT(empty_basic_keys),
		UNIT(reload_without_basic_keys),
		UNIT(reload_resets_values),
		UNIT(multiple_keys),
		UNIT(too_many_keys),
		UNIT(master_key_hex),
		UNIT(master_key_wrong_length),
		UNIT(master_key_not_hex),
		UNIT(master_key_empty_means_none),
		UNIT(provision_mode),
		UNIT(missing_file),
		UNIT(path_from_environment),
		UNIT(protocol_defaults),
		UNIT(workbench_defaults_to_samesite_none),
		UNIT(workbench_needs_frame_ancestors),
		UNIT(workbench_refuses_lax),
		UNIT(samesite_none_needs_https),
		UNIT(front_end_url_length_with_longest_id),
		UNIT(test_account_at_most_31_bytes),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
