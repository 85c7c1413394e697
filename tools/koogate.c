/* koogate: the operator's command. Subcommands are a table; each has its
 * own help text. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck.h"
#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "orders.h"
#include "usage.h"

struct command {
	const char *name;
	int       (*run)(int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "koogate: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static bool load_config(void)
{
	char err[512];

	if (!kg_config_load(NULL, err, sizeof err)) {
		fprintf(stderr, "koogate: configuration error: %s\n", err);
		return false;
	}
	return true;
}

static PGresult *exec_ok(PGconn *db, const char *sql, int n, const char *const *p)
{
	/* A migration file is a script of many statements: simple protocol. */
	PGresult *res = n < 0 ? PQexec(db, sql) : PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (primary)
			fprintf(stderr, "koogate: %s\n", primary);
		else
			fprintf(stderr, "koogate: %s", PQerrorMessage(db));
		PQclear(res);
		return NULL;
	}
	return res;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct kbuf b = { 0 };
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		kbuf_put(&b, chunk, n);
	fclose(f);
	if (!b.p)
		kbuf_reserve(&b, 0);
	*len = b.len;
	return b.p;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Numbered migrations: each applied once, in one transaction, recorded with
 * its checksum; an edited applied file stops everything. */
static int cmd_migrate(int argc, char **argv)
{
	const char *dir = KG_SQL_DIR;
	char *names[512];
	size_t n = 0, applied = 0;
	struct dirent *e;
	PGconn *db;
	PGresult *res;
	DIR *d;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sql") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			return die("migrate: unknown argument %s (see koogate help migrate)", argv[i]);
	}
	if (!load_config())
		return 1;
	if (!(d = opendir(dir)))
		return die("migrate: cannot open %s", dir);
	while ((e = readdir(d)) && n < sizeof names / sizeof *names) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 &&
		    e->d_name[0] >= '0' && e->d_name[0] <= '9')
			names[n++] = ck_strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);

	if (!kg_db_ready())
		return die("migrate: cannot connect to the database (%s)", "see the message above");
	db = kg_db_conn();
	/* One migrator at a time, even across machines. */
	if (!(res = exec_ok(db, "SELECT pg_advisory_lock(727274)", 0, NULL)))
		return 1;
	PQclear(res);
	if (!(res = exec_ok(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                        " name text PRIMARY KEY, sha256 text NOT NULL,"
	                        " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL)))
		return 1;
	PQclear(res);

	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[4096], hex[65];
		unsigned char sum[KG_SHA256_LEN];
		size_t len;
		char *sql;
		const char *p[2];

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!(sql = read_file(path, &len))) {
			rc = die("migrate: cannot read %s", path);
			break;
		}
		kg_sha256(sql, len, sum);
		kg_hex(sum, sizeof sum, hex);
		p[0] = names[i];
		p[1] = hex;
		if (!(res = exec_ok(db, "SELECT sha256 FROM schema_migrations WHERE name = $1", 1, p))) {
			free(sql);
			rc = 1;
			break;
		}
		if (PQntuples(res) == 1) {
			if (strcmp(PQgetvalue(res, 0, 0), hex) != 0) {
				fprintf(stderr, "koogate: migrate: %s was edited after it was applied "
				        "(recorded sha256 %s, file %s); add a new migration instead\n",
				        names[i], PQgetvalue(res, 0, 0), hex);
				rc = 1;
			}
			PQclear(res);
			free(sql);
			continue;
		}
		PQclear(res);
		res = PQexec(db, "BEGIN");
		PQclear(res);
		if ((res = exec_ok(db, sql, -1, NULL)) != NULL) {
			PQclear(res);
			res = exec_ok(db, "INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", 2, p);
		}
		if (!res) {
			fprintf(stderr, "koogate: migrate: %s failed; nothing of it was applied\n", names[i]);
			PQclear(PQexec(db, "ROLLBACK"));
			rc = 1;
		} else {
			PQclear(res);
			if (!(res = exec_ok(db, "COMMIT", 0, NULL)))
				rc = 1;
			else {
				PQclear(res);
				printf("applied %s\n", names[i]);
				applied++;
			}
		}
		free(sql);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (rc == 0)
		printf("migrations: %zu applied, %zu already current\n", applied, n - applied);
	kg_db_close();
	return rc;
}

static int cmd_help(int argc, char **argv);
static int cmd_set_app_info(int argc, char **argv);

/* Terminal columns of a UTF-8 string: CJK (3- and 4-byte sequences) is wide. */
static int display_width(const char *s)
{
	int w = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c & 0xC0) != 0x80)
			w += c >= 0xE0 ? 2 : 1;
	}
	return w;
}

static void print_cell(const char *v, int width, bool last)
{
	fputs(v, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (int pad = width - display_width(v) + 2; pad > 0; pad--)
		putchar(' ');
}

/* Prints a result as aligned text columns, or as the JSON the query made. */
static void print_rows(PGresult *res, bool json)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	int width[32] = { 0 };

	if (json) {
		/* queries for --json return one row, one column: a JSON array */
		printf("%s\n", rows && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "[]");
		return;
	}
	if (cols > 32)
		cols = 32;
	for (int c = 0; c < cols; c++) {
		width[c] = display_width(PQfname(res, c));
		for (int r = 0; r < rows; r++)
			if (display_width(PQgetvalue(res, r, c)) > width[c])
				width[c] = display_width(PQgetvalue(res, r, c));
	}
	for (int c = 0; c < cols; c++)
		print_cell(PQfname(res, c), width[c], c + 1 == cols);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			print_cell(PQgetvalue(res, r, c), width[c], c + 1 == cols);
	if (rows == 0)
		printf("(none)\n");
}

static PGconn *connect_db(void)
{
	if (!load_config())
		return NULL;
	if (!kg_db_ready()) {
		fprintf(stderr, "koogate: cannot connect to the database (see the message above)\n");
		return NULL;
	}
	return kg_db_conn();
}

/* Options of the form --name value or --flag, checked against a list. */
struct opt {
	const char *name;
	bool        has_value;
	const char *value;
	bool        set;
};

static bool parse_opts(int argc, char **argv, struct opt *opts, size_t n, const char **positional)
{
	for (int i = 1; i < argc; i++) {
		size_t k;

		if (strncmp(argv[i], "--", 2) != 0) {
			if (positional && !*positional) {
				*positional = argv[i];
				continue;
			}
			fprintf(stderr, "koogate: unexpected argument %s\n", argv[i]);
			return false;
		}
		for (k = 0; k < n; k++)
			if (strcmp(argv[i] + 2, opts[k].name) == 0)
				break;
		if (k == n) {
			fprintf(stderr, "koogate: unknown option %s\n", argv[i]);
			return false;
		}
		opts[k].set = true;
		if (opts[k].has_value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "koogate: %s needs a value\n", argv[i]);
				return false;
			}
			opts[k].value = argv[++i];
		}
	}
	return true;
}

static int cmd_instances(int argc, char **argv)
{
	struct opt o[] = { { "status", true, NULL, false }, { "order", true, NULL, false },
	                   { "test", false, NULL, false }, { "production", false, NULL, false },
	                   { "json", false, NULL, false }, { "limit", true, "100", false } };
	const char *p[4];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 6, NULL) || !(db = connect_db()))
		return 2;
	p[0] = o[0].value;
	p[1] = o[1].value;
	p[2] = o[2].set ? "true" : o[3].set ? "false" : NULL;
	p[3] = o[5].value;
	res = exec_ok(db, o[4].set ?
		"SELECT json_agg(i ORDER BY created_at DESC) FROM (SELECT instance_id, generation, order_id,"
		" order_line_id, product_id, status, test_flag, expire_time, created_at FROM instance"
		" WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR order_id = $2)"
		"   AND ($3::boolean IS NULL OR test_flag = $3) ORDER BY created_at DESC LIMIT $4::int) i" :
		"SELECT instance_id, 'V' || generation AS gen, order_id, order_line_id, status,"
		" CASE WHEN test_flag THEN 'test' ELSE '' END AS test,"
		" COALESCE(to_char(expire_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') AS expires_utc"
		" FROM instance WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR order_id = $2)"
		"   AND ($3::boolean IS NULL OR test_flag = $3) ORDER BY created_at DESC LIMIT $4::int", 4, p);
	if (!res)
		return 1;
	print_rows(res, o[4].set);
	PQclear(res);
	return 0;
}

static int cmd_instance(int argc, char **argv)
{
	struct opt o[] = { { "json", false, NULL, false } };
	const char *id = NULL, *p[1];
	PGconn *db;
	PGresult *res;

	if (argc >= 2 && strcmp(argv[1], "set-app-info") == 0)
		return cmd_set_app_info(argc - 1, argv + 1);
	if (!parse_opts(argc, argv, o, 1, &id) || !id) {
		fprintf(stderr, "usage: koogate instance ID [--json] | koogate instance set-app-info ID ...\n");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	p[0] = id;
	res = exec_ok(db,
		"SELECT json_build_object('instance', (SELECT to_jsonb(i) - 'app_password' - 'mobile_phone' - 'email'"
		"   FROM instance i WHERE instance_id = $1),"
		" 'orders', (SELECT json_agg(o ORDER BY at) FROM (SELECT order_id, order_line_id, kind, product_id,"
		"   sku_code, expire_time, at, fetch_state, fetch_attempts, fetch_error FROM instance_order"
		"   WHERE instance_id = $1) o),"
		" 'events', (SELECT json_agg(e ORDER BY id) FROM (SELECT id, at, kind, order_id, detail,"
		"   delivered_at FROM event WHERE instance_id = $1) e),"
		" 'calls', (SELECT json_agg(c ORDER BY at) FROM (SELECT at, program, activity, verdict, result_code,"
		"   duration_ms FROM inbound_call WHERE instance_id = $1 ORDER BY at DESC LIMIT 50) c))"
		" WHERE EXISTS (SELECT 1 FROM instance WHERE instance_id = $1)", 1, p);
	if (!res)
		return 1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		fprintf(stderr, "koogate: no instance %s\n", id);
		return 1;
	}
	if (o[0].set) {
		printf("%s\n", PQgetvalue(res, 0, 0));
	} else {
		/* plain text: the same document, one line per item, for people */
		PGresult *t;
		const char *q[1] = { PQgetvalue(res, 0, 0) };

		t = exec_ok(db,
			"WITH d AS (SELECT $1::jsonb AS j)"
			" SELECT line FROM ("
			"  SELECT 0 AS s, 0 AS n, k || ': ' || COALESCE(v #>> '{}', '') AS line"
			"   FROM d, jsonb_each(j -> 'instance') AS e(k, v) WHERE v <> 'null'::jsonb"
			"  UNION ALL SELECT 1, ordinality, 'order  ' || (o ->> 'kind') || ' ' || (o ->> 'order_id') || ' '"
			"   || (o ->> 'order_line_id') || ' at ' || (o ->> 'at') || ' fetch=' || (o ->> 'fetch_state')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'orders', '[]')) WITH ORDINALITY AS x(o, ordinality)"
			"  UNION ALL SELECT 2, ordinality, 'event  #' || (e ->> 'id') || ' ' || (e ->> 'kind') || ' at '"
			"   || (e ->> 'at') || ' ' || (e ->> 'detail')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'events', '[]')) WITH ORDINALITY AS x(e, ordinality)"
			"  UNION ALL SELECT 3, ordinality, 'call   ' || (c ->> 'at') || ' ' || COALESCE(c ->> 'activity', '-')"
			"   || ' ' || COALESCE(c ->> 'result_code', '-') || ' ' || (c ->> 'verdict')"
			"   FROM d, jsonb_array_elements(COALESCE(j -> 'calls', '[]')) WITH ORDINALITY AS x(c, ordinality)"
			" ) lines ORDER BY s, n", 1, q);
		for (int r = 0; t && r < PQntuples(t); r++)
			printf("%s\n", PQgetvalue(t, r, 0));
		PQclear(t);
	}
	PQclear(res);
	return 0;
}

static int cmd_set_app_info(int argc, char **argv)
{
	struct opt o[] = { { "front-end-url", true, NULL, false }, { "admin-url", true, NULL, false },
	                   { "user-name", true, NULL, false }, { "password-stdin", false, NULL, false },
	                   { "memo", true, NULL, false } };
	const char *id = NULL, *p[6];
	struct kbuf sealed = { 0 }, hex = { 0 };
	char password[256] = "";
	PGconn *db;
	PGresult *res;
	int rc = 1;

	if (!parse_opts(argc, argv, o, 5, &id) || !id || !o[0].value) {
		fprintf(stderr, "usage: koogate instance set-app-info ID --front-end-url URL [--admin-url URL]\n"
		                "       [--user-name NAME] [--password-stdin] [--memo TEXT]\n");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	if (o[3].set) {
		/* from stdin, so the password never shows in ps or shell history */
		if (!fgets(password, sizeof password, stdin)) {
			fprintf(stderr, "koogate: no password on standard input\n");
			return 2;
		}
		password[strcspn(password, "\r\n")] = '\0';
		if (strlen(password) > 31) {
			fprintf(stderr, "koogate: the password is at most 31 bytes (D17)\n");
			return 2;
		}
		kg_seal(kg_cfg.master_key, password, strlen(password), &sealed);
		kg_db_bytea_param(sealed.p, sealed.len, &hex);
		ck_memzero(password, sizeof password);
	}
	p[0] = id;
	p[1] = o[0].value;
	p[2] = o[1].value;
	p[3] = o[2].value;
	p[4] = hex.p;
	p[5] = o[4].value;
	if ((res = exec_ok(db, "SELECT koogate_set_app_info($1, $2, $3, $4, $5::bytea, $6)", 6, p))) {
		if (strcmp(PQgetvalue(res, 0, 0), "ok") == 0) {
			printf("instance %s: app info set\n", id);
			rc = 0;
		} else {
			fprintf(stderr, "koogate: no instance %s\n", id);
		}
		PQclear(res);
	}
	kbuf_free(&sealed);
	kbuf_free(&hex);
	return rc;
}


/* The RSA pair for applicationSync: the private key stays here (0600), the
 * public key is uploaded with the app credential (应用凭证) as Base64 DER. */
static int cmd_keygen(int argc, char **argv)
{
	struct opt o[] = { { "out", true, NULL, false }, { "bits", true, "3072", false },
	                   { "force", false, NULL, false } };
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	struct kbuf b64 = { 0 };
	int bits, fd, len;
	FILE *f;

	if (!parse_opts(argc, argv, o, 3, NULL) || !o[0].value) {
		fprintf(stderr, "usage: koogate keygen --out PRIVATE_KEY_FILE [--bits 3072|4096] [--force]\n");
		return 2;
	}
	bits = atoi(o[1].value);
	if (bits < 3072 || bits > 8192) {
		fprintf(stderr, "koogate: --bits must be from 3072 to 8192 (KooGallery asks for 3072 or more)\n");
		return 2;
	}
	fd = open(o[0].value, O_WRONLY | O_CREAT | (o[2].set ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0) {
		fprintf(stderr, "koogate: cannot create %s: %s%s\n", o[0].value, strerror(errno),
		        errno == EEXIST ? " (use --force to replace it; the uploaded public key must change too)" : "");
		return 1;
	}
	if (fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "w"))) {
		close(fd);
		return 1;
	}
	key = EVP_RSA_gen((unsigned)bits);
	if (!key || !PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) {
		fprintf(stderr, "koogate: key generation failed\n");
		fclose(f);
		EVP_PKEY_free(key);
		return 1;
	}
	fclose(f);
	len = i2d_PUBKEY(key, &der);
	kg_b64_put(&b64, der, (size_t)len);
	printf("# private key (keep it here; set rsa_private_key = %s):\n", o[0].value);
	printf("# public key for the app credential (RSA %d, X.509 SubjectPublicKeyInfo, Base64):\n%s\n", bits, b64.p);
	OPENSSL_free(der);
	kbuf_free(&b64);
	EVP_PKEY_free(key);
	return 0;
}


static int cmd_tenants(int argc, char **argv)
{
	struct opt o[] = { { "instance", true, NULL, false }, { "json", false, NULL, false } };
	const char *p[1];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 2, NULL) || !(db = connect_db()))
		return 2;
	p[0] = o[0].value;
	res = exec_ok(db, o[1].set ?
		"SELECT json_agg(t ORDER BY updated_at DESC) FROM (SELECT t.instance_id, t.tenant_id, t.tenant_code,"
		" t.name, t.domain_name, t.test_flag, t.deleted_at, t.updated_at,"
		" (SELECT json_agg(json_build_object('appId', a.app_id, 'clientId', a.client_id, 'deleted', a.deleted_at IS NOT NULL))"
		"    FROM tenant_app a WHERE a.instance_id = t.instance_id AND a.tenant_id = t.tenant_id) AS apps,"
		" (SELECT count(*) FROM tenant_user u WHERE u.instance_id = t.instance_id AND u.tenant_id = t.tenant_id"
		"    AND u.state = 'granted') AS users,"
		" (SELECT count(*) FROM tenant_org g WHERE g.instance_id = t.instance_id AND g.tenant_id = t.tenant_id"
		"    AND g.deleted_at IS NULL) AS departments"
		" FROM tenant t WHERE $1::text IS NULL OR t.instance_id = $1) t" :
		"SELECT CASE WHEN t.instance_id = '' THEN '(seller)' ELSE t.instance_id END AS instance, t.tenant_id,"
		" t.tenant_code, t.name, t.domain_name,"
		" (SELECT string_agg(a.app_id, ',') FROM tenant_app a WHERE a.instance_id = t.instance_id"
		"    AND a.tenant_id = t.tenant_id AND a.deleted_at IS NULL) AS apps,"
		" (SELECT count(*) FROM tenant_user u WHERE u.instance_id = t.instance_id AND u.tenant_id = t.tenant_id"
		"    AND u.state = 'granted') AS users,"
		" (SELECT count(*) FROM tenant_org g WHERE g.instance_id = t.instance_id AND g.tenant_id = t.tenant_id"
		"    AND g.deleted_at IS NULL) AS depts,"
		" CASE WHEN t.deleted_at IS NOT NULL THEN 'deleted' WHEN t.test_flag THEN 'test' ELSE '' END AS state"
		" FROM tenant t WHERE $1::text IS NULL OR t.instance_id = $1 ORDER BY t.updated_at DESC", 1, p);
	if (!res)
		return 1;
	print_rows(res, o[1].set);
	PQclear(res);
	return 0;
}

/* Users or departments of one tenant, optionally of one instance. */
static int cmd_tenant_list(int argc, char **argv, bool users)
{
	struct opt o[] = { { "instance", true, NULL, false }, { "json", false, NULL, false },
	                   { "all", false, NULL, false } };
	const char *tenant = NULL, *p[3];
	PGconn *db;
	PGresult *res;

	if (!parse_opts(argc, argv, o, 3, &tenant) || !tenant) {
		fprintf(stderr, "usage: koogate %s TENANT_ID [--instance ID] [--all] [--json]\n", users ? "users" : "departments");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	p[0] = tenant;
	p[1] = o[0].value;
	p[2] = o[2].set ? "true" : "false";
	if (users)
		res = exec_ok(db, o[1].set ?
			"SELECT json_agg(u ORDER BY user_name) FROM (SELECT instance_id, app_id, user_name, name, org_code,"
			" role, enabled, state, synced, position, employee_type, updated_at FROM tenant_user"
			" WHERE tenant_id = $1 AND ($2::text IS NULL OR instance_id = $2)"
			"   AND ($3::boolean OR state = 'granted')) u" :
			"SELECT user_name, name, role, CASE WHEN enabled THEN 'yes' ELSE 'no' END AS enabled, state,"
			" org_code, app_id, CASE WHEN instance_id = '' THEN '(seller)' ELSE instance_id END AS instance"
			" FROM tenant_user WHERE tenant_id = $1 AND ($2::text IS NULL OR instance_id = $2)"
			"   AND ($3::boolean OR state = 'granted') ORDER BY user_name", 3, p);
	else
		res = exec_ok(db, o[1].set ?
			"SELECT json_agg(g ORDER BY org_code) FROM (SELECT instance_id, org_code, org_name, parent_code,"
			" deleted_at, updated_at FROM tenant_org WHERE tenant_id = $1"
			" AND ($2::text IS NULL OR instance_id = $2) AND ($3::boolean OR deleted_at IS NULL)) g" :
			"SELECT org_code, org_name, parent_code, CASE WHEN deleted_at IS NULL THEN '' ELSE 'deleted' END AS state,"
			" CASE WHEN instance_id = '' THEN '(seller)' ELSE instance_id END AS instance"
			" FROM tenant_org WHERE tenant_id = $1 AND ($2::text IS NULL OR instance_id = $2)"
			"   AND ($3::boolean OR deleted_at IS NULL) ORDER BY parent_code, org_code", 3, p);
	if (!res)
		return 1;
	print_rows(res, o[1].set);
	PQclear(res);
	return 0;
}

static int cmd_users(int argc, char **argv)
{
	return cmd_tenant_list(argc, argv, true);
}

static int cmd_departments(int argc, char **argv)
{
	return cmd_tenant_list(argc, argv, false);
}


/* usage add INSTANCE VALUE (--at TIME | --begin TIME --end TIME) [--meter M] [--package ID] [--correct]
 * usage push [--max N] [--quiet]
 * usage list [--instance ID] [--state S] [--json] */
static int cmd_usage(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	PGconn *db;
	PGresult *res;

	if (strcmp(sub, "add") == 0) {
		struct opt o[] = { { "at", true, NULL, false }, { "begin", true, NULL, false },
		                   { "end", true, NULL, false }, { "meter", true, "", false },
		                   { "package", true, NULL, false }, { "correct", false, NULL, false },
		                   { "instance", true, NULL, false }, { "value", true, NULL, false } };
		char window[16];

		if (!parse_opts(argc - 1, argv + 1, o, 8, NULL) || !o[6].value || !o[7].value ||
		    !(o[0].value || (o[1].value && o[2].value))) {
			fprintf(stderr, "usage: koogate usage add --instance ID --value V (--at TIME | --begin TIME --end TIME)\n"
			                "       [--meter NAME] [--package PKG_INSTANCE] [--correct]\n");
			return 2;
		}
		if (!(db = connect_db()))
			return 2;
		snprintf(window, sizeof window, "%d", kg_cfg.usage_window);
		/* --at: the configured window (default hourly, UTC) containing TIME */
		const char *p[8] = { o[6].value, o[0].value, o[1].value, o[2].value, o[7].value,
		                     o[3].value, o[4].value, o[5].set ? "true" : "false" };
		const char *q[9] = { p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], window };
		res = exec_ok(db,
			"SELECT koogate_usage_add($1,"
			" COALESCE($3::timestamptz, to_timestamp(floor(extract(epoch FROM $2::timestamptz) / $9::int) * $9::int)),"
			" COALESCE($4::timestamptz, to_timestamp(floor(extract(epoch FROM $2::timestamptz) / $9::int) * $9::int + $9::int)),"
			" $5::numeric, $6, $7, $8::boolean)", 9, q);
		if (!res)
			return 1;
		printf("recorded: metering_sn %s\n", PQgetvalue(res, 0, 0));
		PQclear(res);
		return 0;
	}
	if (strcmp(sub, "push") == 0) {
		struct opt o[] = { { "max", true, "1000000", false }, { "quiet", false, NULL, false } };
		struct kg_push_stats st;
		long left;

		if (!parse_opts(argc - 1, argv + 1, o, 2, NULL))
			return 2;
		if (!connect_db())
			return 2;
		if (!kg_usage_push(atol(o[0].value), !o[1].set, &st)) {
			fprintf(stderr, "koogate: usage push stopped: database failure\n");
			return 1;
		}
		left = kg_usage_left();
		printf("usage push: %ld batches, %ld records sent, %ld accepted, %ld rejected, %ld deferred, "
		       "%ld expired, %ld left\n", st.batches, st.sent, st.accepted, st.rejected, st.deferred,
		       st.expired, left);
		/* Non-zero when a person should look: refusals, expiries, or a marketplace that keeps failing. */
		return st.rejected || st.expired || st.deferred ? 3 : 0;
	}
	if (strcmp(sub, "list") == 0) {
		struct opt o[] = { { "instance", true, NULL, false }, { "state", true, NULL, false },
		                   { "json", false, NULL, false }, { "limit", true, "100", false } };
		const char *p[3];

		if (!parse_opts(argc - 1, argv + 1, o, 4, NULL) || !(db = connect_db()))
			return 2;
		p[0] = o[0].value;
		p[1] = o[1].value;
		p[2] = o[3].value;
		res = exec_ok(db, o[2].set ?
			"SELECT json_agg(u ORDER BY begin_time DESC) FROM (SELECT instance_id, meter, begin_time, end_time,"
			" trim_scale(usage_value) AS usage_value, metering_sn, state, attempts, last_error, pushed_at"
			" FROM usage_record WHERE ($1::text IS NULL OR instance_id = $1) AND ($2::text IS NULL OR state = $2)"
			" ORDER BY begin_time DESC LIMIT $3::int) u" :
			"SELECT instance_id, meter, to_char(begin_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS begin_utc,"
			" to_char(end_time AT TIME ZONE 'UTC', 'HH24:MI') AS end_utc, trim_scale(usage_value)::text AS value,"
			" state, COALESCE(last_error, '') AS last_error"
			" FROM usage_record WHERE ($1::text IS NULL OR instance_id = $1) AND ($2::text IS NULL OR state = $2)"
			" ORDER BY begin_time DESC LIMIT $3::int", 3, p);
		if (!res)
			return 1;
		print_rows(res, o[2].set);
		PQclear(res);
		return 0;
	}
	fprintf(stderr, "usage: koogate usage add|push|list ... (see koogate help usage)\n");
	return 2;
}

static int cmd_orders(int argc, char **argv)
{
	struct opt o[] = { { "max", true, "100", false } };
	const char *sub = NULL;
	int n;

	if (!parse_opts(argc, argv, o, 1, &sub) || !sub || strcmp(sub, "fetch") != 0) {
		fprintf(stderr, "usage: koogate orders fetch [--max N]\n");
		return 2;
	}
	if (!connect_db())
		return 2;
	if (!kg_orders_configured()) {
		fprintf(stderr, "koogate: Query Order needs apig_ak, apig_sk and mkt_url in the configuration\n");
		return 2;
	}
	n = kg_orders_fetch_due(atoi(o[0].value), 600000L);
	if (n < 0)
		return 1;
	printf("orders fetched or retried: %d\n", n);
	return 0;
}

static const struct command commands[] = {
	{ "migrate", cmd_migrate, "migrate [--sql DIR]",
	  "Applies the numbered SQL migrations in DIR (default: the build's sql/ folder)\n"
	  "to the database named by the configuration's db key. Each file runs once,\n"
	  "in its own transaction, and is recorded in schema_migrations with its\n"
	  "SHA-256; an applied file that was edited later stops the run.\n" },
	{ "instances", cmd_instances, "instances [--status S] [--order ID] [--test|--production] [--limit N] [--json]",
	  "Lists instances, newest first, filtered by status (pending, active, frozen,\n"
	  "released), order or test flag.\n" },
	{ "instance", cmd_instance, "instance ID [--json] | instance set-app-info ID --front-end-url URL ...",
	  "Shows one instance with its orders, events and the calls that named it.\n\n"
	  "set-app-info ID --front-end-url URL [--admin-url URL] [--user-name NAME]\n"
	  "             [--password-stdin] [--memo TEXT]\n"
	  "  Sets what queryInstance returns for the instance and makes a pending\n"
	  "  instance active (the provisioning hand-off). The password is read from\n"
	  "  standard input and sealed with the master key before it is stored.\n" },
	{ "orders", cmd_orders, "orders fetch [--max N]",
	  "Fetches the due Query Order calls (after newInstance, renewals and\n"
	  "upgrades), retrying failures with back-off. Run it from cron or a timer;\n"
	  "produce also tries each order once right after answering.\n" },
	{ "tenants", cmd_tenants, "tenants [--instance ID] [--json]",
	  "Lists the enterprises bound through the Kit (tenantSync), with their apps,\n"
	  "granted users and departments. (seller) marks seller-side syncs.\n" },
	{ "users", cmd_users, "users TENANT_ID [--instance ID] [--all] [--json]",
	  "Lists a tenant's users from authSync; --all includes deleted and revoked ones.\n" },
	{ "departments", cmd_departments, "departments TENANT_ID [--instance ID] [--all] [--json]",
	  "Lists a tenant's departments from the org syncs; --all includes deleted ones.\n" },
	{ "usage", cmd_usage, "usage add|push|list ...",
	  "Pay-per-use usage.\n\n"
	  "usage add --instance ID --value V (--at TIME | --begin TIME --end TIME) [--meter NAME]\n"
	  "          [--package PKG_INSTANCE] [--correct]\n"
	  "  Records usage for one UTC window (--at: the usage_window, default the hour,\n"
	  "  containing TIME). V > 0 with at most 4 decimals. Recording the same window\n"
	  "  twice is an error; --correct replaces a value not yet pushed.\n\n"
	  "usage push [--max N] [--quiet]\n"
	  "  Sends pending records to KooGallery in batches of 100 (new API: signature,\n"
	  "  ts and nonce headers; old API or usage_apig: APIG AK/SK), retrying with\n"
	  "  back-off and the fallback host. Safe to run from cron or a timer, and\n"
	  "  concurrently. Exits 3 when records were rejected, expired or deferred.\n\n"
	  "usage list [--instance ID] [--state pending|sent|rejected|expired] [--json]\n" },
	{ "keygen", cmd_keygen, "keygen --out FILE [--bits 3072] [--force]",
	  "Generates the RSA key pair for the Kit applicationSync clientSecret. The\n"
	  "private key is written to FILE (PKCS#8 PEM, mode 0600; point rsa_private_key\n"
	  "at it); the public key is printed as one line of Base64 (X.509\n"
	  "SubjectPublicKeyInfo DER), the form the seller console's app credential\n"
	  "(应用凭证) takes.\n" },
	{ "help", cmd_help, "help [COMMAND]", "Shows the commands, or one command's help.\n" },
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static int cmd_help(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, argv[1]) == 0) {
			printf("usage: koogate %s\n\n%s", commands[i].synopsis, commands[i].help);
			return 0;
		}
	printf("usage: koogate COMMAND [ARGS]\n\nThe configuration file is read from $KOOGATE_CONFIG.\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %s\n", commands[i].synopsis);
	return argc > 1 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cmd_help(1, argv);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[1]) != 0)
			continue;
		if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			char *h[] = { "help", argv[1] };
			return cmd_help(2, h);
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "koogate: unknown command %s\n", argv[1]);
	cmd_help(1, argv);
	return 2;
}
