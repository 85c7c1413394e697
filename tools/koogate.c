/* SPDX-License-Identifier: ISC */
/* koogate: the operator's command. Subcommands are a table; each has its
 * own help text. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "koogate.h"
#include "buf.h"
#include "codec.h"
#include "config.h"
#include "db.h"
#include "log.h"

struct command {
	const char *name;
	int       (*run)(int argc, char **argv);
	const char *synopsis;
	const char *help;
};

int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "koogate: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

bool load_config(void)
{
	char err[512];

	if (!kg_config_load(NULL, err, sizeof err)) {
		fprintf(stderr, "koogate: configuration error: %s\n", err);
		return false;
	}
	return true;
}

PGresult *exec_ok(PGconn *db, const char *sql, int n, const char *const *p)
{
	/* A migration file is a script of many statements: simple protocol. */
	PGresult *res = n < 0 ? PQexec(db, sql) : PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		/* The message may quote a value from a buyer (an instance id, a name). */
		fputs("koogate: ", stderr);
		put_text(stderr, primary ? primary : PQerrorMessage(db));
		if (primary)
			fputc('\n', stderr);
		PQclear(res);
		return NULL;
	}
	return res;
}

char *read_file(const char *path, size_t *len)
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


/* Where the migrations are: $KOOGATE_SQL_DIR, else share/koogate/sql next to
 * the installed binary (PREFIX/bin/koogate; this also holds under DESTDIR),
 * else the source tree the binary was built in. */
const char *sql_dir(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("KOOGATE_SQL_DIR");
	struct stat st;
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n > 0) {
		path[n] = '\0';
		if ((slash = strrchr(path, '/'))) {
			*slash = '\0';
			if ((size_t)snprintf(slash, sizeof path - (size_t)(slash - path),
			                     "/../share/koogate/sql") < sizeof path - (size_t)(slash - path) &&
			    stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				return path;
		}
	}
	return KG_SQL_DIR;
}

/* Terminal columns of a cell (codec.h). */
static int display_width(const char *s)
{
	return (int)kg_utf8_width(s);
}

/* Buyer-controlled text (tenant, user, department names) reaches the
 * operator's terminal: its control characters are shown escaped, never sent. */
static void term_text(const char *v, struct kbuf *b)
{
	kbuf_reset(b);
	kg_term_text(b, v);
	kbuf_putc(b, '\0');
}

void put_text(FILE *f, const char *v)
{
	struct kbuf b = { 0 };

	term_text(v, &b);
	fputs(b.p, f);
	kbuf_free(&b);
}

static int text_width(const char *v)
{
	struct kbuf b = { 0 };
	int w;

	term_text(v, &b);
	w = display_width(b.p);
	kbuf_free(&b);
	return w;
}

static void print_cell(const char *v, int width, bool last)
{
	put_text(stdout, v);
	if (last) {
		putchar('\n');
		return;
	}
	for (int pad = width - text_width(v) + 2; pad > 0; pad--)
		putchar(' ');
}

/* Prints a result as aligned text columns, or as the JSON the query made. */
void print_rows(PGresult *res, bool json)
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
		width[c] = text_width(PQfname(res, c));
		for (int r = 0; r < rows; r++)
			if (text_width(PQgetvalue(res, r, c)) > width[c])
				width[c] = text_width(PQgetvalue(res, r, c));
	}
	for (int c = 0; c < cols; c++)
		print_cell(PQfname(res, c), width[c], c + 1 == cols);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			print_cell(PQgetvalue(res, r, c), width[c], c + 1 == cols);
	if (rows == 0)
		printf("(none)\n");
}

PGconn *connect_db(void)
{
	if (!load_config())
		return NULL;
	if (!kg_db_ready()) {
		fprintf(stderr, "koogate: cannot connect to the database (see the message above)\n");
		return NULL;
	}
	return kg_db_conn();
}

bool parse_opts(int argc, char **argv, struct opt *opts, size_t n, const char **positional)
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

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "migrate", cmd_migrate, "migrate [--sql DIR]",
	  "Applies the numbered SQL migrations in DIR (default: $KOOGATE_SQL_DIR, else\n"
	  "PREFIX/share/koogate/sql of the installed koogate, else the source tree's sql/)\n"
	  "to the database named by the configuration's db key. Each file runs once,\n"
	  "in its own transaction, and is recorded in schema_migrations with its\n"
	  "SHA-256; an applied file that was edited later stops the run.\n" },
	{ "status", cmd_status, "status",
	  "Checks the configuration, the database and the migrations, and shows\n"
	  "instances by state, undelivered and failing events, the usage backlog,\n"
	  "order fetches, and the last inbound calls and failures. Exits 3 when\n"
	  "something needs a person, 1 when the database is unreachable.\n" },
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
	{ "orders", cmd_orders, "orders fetch [--max N] [--retry-failed]",
	  "Fetches the due Query Order calls (after newInstance, renewals and\n"
	  "upgrades), retrying network errors, 5xx and MKT.0250 with back-off for\n"
	  "order_fetch_hours. Run it from cron or a timer; produce also tries each\n"
	  "order once right after answering. AK/SK refusals (MKT.0150/0151/0154) and\n"
	  "parameter errors mark the order failed; --retry-failed queues those again\n"
	  "once the cause is fixed.\n" },
	{ "events", cmd_events, "events [--undelivered] [--instance ID] [--limit N] [--json] | events replay ID",
	  "Lists the outbox's events, newest first, with their delivery state.\n\n"
	  "events replay ID\n"
	  "  Queues an event for `koogate worker` again (same idempotency key), e.g.\n"
	  "  after fixing the vendor command that failed on it.\n" },
	{ "tenants", cmd_tenants, "tenants [--instance ID] [--json]",
	  "Lists the enterprises bound through the Kit (tenantSync), with their apps,\n"
	  "granted users and departments. (seller) marks seller-side syncs.\n" },
	{ "users", cmd_users, "users TENANT_ID [--instance ID] [--all] [--json]",
	  "Lists a tenant's users from authSync; --all includes deleted and revoked ones.\n" },
	{ "departments", cmd_departments, "departments TENANT_ID [--instance ID] [--all] [--json]",
	  "Lists a tenant's departments from the org syncs; --all includes deleted ones.\n" },
	{ "usage", cmd_usage, "usage add|push|requeue|list ...",
	  "Pay-per-use usage.\n\n"
	  "usage add --instance ID --value V (--at TIME | --begin TIME --end TIME) [--meter NAME]\n"
	  "          [--package PKG_INSTANCE] [--correct]\n"
	  "  Records usage for one UTC window (--at: the usage_window, default the hour,\n"
	  "  containing TIME). V > 0 with at most 4 decimals. A window that begins in\n"
	  "  the future is refused. Recording the same window twice is an error;\n"
	  "  --correct replaces a value not yet pushed.\n\n"
	  "usage push [--max N] [--quiet]\n"
	  "  Sends pending records of closed windows to KooGallery in batches of 100\n"
	  "  (new API: signature, ts and nonce headers; old API or usage_apig: APIG\n"
	  "  AK/SK), retrying with back-off, and the fallback host when the primary\n"
	  "  cannot be reached. Records refused for the configuration (MKT.0150/0151/\n"
	  "  0154, AK/SK) are held and sent again once it changes. Safe to run from\n"
	  "  cron or a timer, and concurrently. Exits 3 when records were rejected,\n"
	  "  expired or deferred, or are held.\n\n"
	  "usage requeue [--instance ID]\n"
	  "  Queues held records again (e.g. after KooGallery granted a permission).\n\n"
	  "usage list [--instance ID] [--state pending|sent|held|rejected|expired] [--json]\n" },
	{ "keygen", cmd_keygen, "keygen --out FILE [--bits 3072] [--force]",
	  "Generates the RSA key pair for the Kit applicationSync clientSecret. The\n"
	  "private key is written to FILE (PKCS#8 PEM, mode 0600; point rsa_private_key\n"
	  "at it); the public key is printed as one line of Base64 (X.509\n"
	  "SubjectPublicKeyInfo DER), the form the seller console's app credential\n"
	  "(应用凭证) takes.\n\n"
	  "Rotation: make a new pair, list the new file first and the old one after\n"
	  "it (rsa_private_key = NEW, OLD), restart the web server, then replace the\n"
	  "public key in the app credential (应用凭证修改). applicationSync tries each\n"
	  "key and logs which one worked (#1, #2); drop OLD once only #1 is seen.\n" },
	{ "simulate", cmd_simulate, "simulate lifecycle|kit [--v1] [--test] [--url URL] ...",
	  "Sends what KooGallery sends, signed as KooGallery signs, to a production\n"
	  "address (--url, else $KOOGATE_URL), and checks every answer as the seller\n"
	  "console does: HTTP 200, resultCode, required fields and lengths, Body-Sign\n"
	  "over the exact body with the interface's key, appInfo that decrypts.\n\n"
	  "simulate lifecycle [--mode period|onetime|ondemand|all] [--v1] [--test] [--product ID]\n"
	  "  buy, query, renew, freeze, unfreeze, upgrade, release (twice), and an\n"
	  "  unknown instance, per charging mode, in V2 or V1 (V1 orders name --product,\n"
	  "  default sim-product). usageInfo is checked as the console does (D14): a\n"
	  "  number with at most 4 decimals and yyyyMMddHHmmss, for pay-per-use only.\n"
	  "simulate kit [--v1] [--test] [--instance ID] [--public-key FILE]\n"
	  "  bind (tenantSync, applicationSync with the secret RSA-OAEP-encrypted with\n"
	  "  the public key, else the one of rsa_private_key), users, departments,\n"
	  "  a revocation and a department deletion, plus an undecryptable secret.\n"
	  "Prints a line per step and 'N passed, N failed'; exits 1 on any failure.\n" },
	{ "worker", cmd_worker, "worker [--once] [--verbose]",
	  "Delivers the outbox's events to the vendor's commands (the provisioning\n"
	  "hand-off). For each event, in order per instance, it runs the command\n"
	  "configured for its kind (worker_on_created, worker_on_renewed,\n"
	  "worker_on_frozen, worker_on_unfrozen, worker_on_released, worker_on_upgraded,\n"
	  "worker_on_order_fetched, worker_on_kit, else worker_command) with /bin/sh,\n"
	  "the event as JSON on stdin (idempotencyKey included) and KOOGATE_EVENT_ID,\n"
	  "KOOGATE_EVENT_KIND and KOOGATE_INSTANCE_ID in the environment, and kills it\n"
	  "after worker_timeout seconds. Exit 0 marks the event delivered; stdout may\n"
	  "hold {\"appInfo\":{\"frontEndUrl\",\"adminUrl\",\"userName\",\"password\",\"memo\"}},\n"
	  "which becomes the instance's app info (the password sealed). Failures are\n"
	  "retried with back-off up to worker_max_attempts. It listens for NOTIFY,\n"
	  "catches up on start and after a database outage, and stops on SIGTERM.\n"
	  "Test events are acknowledged without running anything unless\n"
	  "worker_test_events = 1. --once: deliver what is due and exit.\n" },
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
	printf("usage: koogate COMMAND [ARGS]\n       koogate --version | --help | help COMMAND\n\n"
	       "The configuration file is read from $KOOGATE_CONFIG (koogate.conf(5)).\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %s\n", commands[i].synopsis);
	return argc > 1 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cmd_help(1, argv);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("koogate %s\n", KG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
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
