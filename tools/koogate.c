/* koogate: the operator's command. Subcommands are a table; each has its
 * own help text. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck.h"
#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "db.h"

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

static const struct command commands[] = {
	{ "migrate", cmd_migrate, "migrate [--sql DIR]",
	  "Applies the numbered SQL migrations in DIR (default: the build's sql/ folder)\n"
	  "to the database named by the configuration's db key. Each file runs once,\n"
	  "in its own transaction, and is recorded in schema_migrations with its\n"
	  "SHA-256; an applied file that was edited later stops the run.\n" },
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
