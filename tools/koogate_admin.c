/* SPDX-License-Identifier: ISC */
/* koogate: migrations, keys, usage and orders. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "koogate.h"
#include "ck.h"
#include "buf.h"
#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "orders.h"
#include "usage.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Numbered migrations: each applied once, in one transaction, recorded with
 * its checksum; an edited applied file stops everything. */
int cmd_migrate(int argc, char **argv)
{
	const char *dir = sql_dir();
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
		else {
			die("migrate: unknown argument %s (see koogate help migrate)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!load_config())
		return EXIT_USAGE;
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

/* The RSA pair for applicationSync: the private key stays here (0600), the
 * public key is uploaded with the app credential (应用凭证) as Base64 DER. */
int cmd_keygen(int argc, char **argv)
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
	printf("# private key (keep it here; set rsa_private_key = %s, or while rotating\n"
	       "# rsa_private_key = %s, <the old file>):\n", o[0].value, o[0].value);
	printf("# public key for the app credential (RSA %d, X.509 SubjectPublicKeyInfo, Base64):\n%s\n", bits, b64.p);
	OPENSSL_free(der);
	kbuf_free(&b64);
	EVP_PKEY_free(key);
	return 0;
}


/* usage add INSTANCE VALUE (--at TIME | --begin TIME --end TIME) [--meter M] [--package ID] [--correct]
 * usage push [--max N] [--quiet]
 * usage requeue [--instance ID]
 * usage list [--instance ID] [--state S] [--json] */
/* 2026-11-30T05:10:00Z, 2026-11-30 05:10+08:00: a date, a time and a zone.
 * What PostgreSQL would also read ("yesterday", "now", no zone) is refused:
 * the window would depend on the day or on the database's zone. */
static bool iso_time(const char *t)
{
	static const char form[] = "dddd-dd-ddTdd:dd";
	size_t i;

	for (i = 0; form[i]; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char)t[i]) : form[i] == 'T' ? t[i] != 'T' && t[i] != ' ' : t[i] != form[i])
			return false;
	t += i;
	if (t[0] == ':' && isdigit((unsigned char)t[1]) && isdigit((unsigned char)t[2]))
		for (t += 3; *t == '.' || isdigit((unsigned char)*t); t++)
			;
	if (!strcmp(t, "Z"))
		return true;
	return (t[0] == '+' || t[0] == '-') && isdigit((unsigned char)t[1]) && isdigit((unsigned char)t[2]) &&
	       (!t[3] || (t[3] == ':' && isdigit((unsigned char)t[4]) && isdigit((unsigned char)t[5]) && !t[6]));
}

int cmd_usage(int argc, char **argv)
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
		for (int i = 0; i < 3; i++)
			if (o[i].value && !iso_time(o[i].value)) {
				fprintf(stderr, "koogate: --%s %s: give a time as 2026-11-30T05:10:00Z (UTC) or with its offset,"
				                " 2026-11-30T13:10:00+08:00\n", o[i].name, o[i].value);
				return 2;
			}
		if (!ck_finite_number(o[7].value)) {
			fprintf(stderr, "koogate: --value must be a finite decimal number\n");
			return 2;
		}
		db = connect_db();
		snprintf(window, sizeof window, "%d", kg_cfg.usage_window);
		/* The window (--at: the configured window, default hourly, UTC,
		 * containing TIME; sql/022, as POST /koogate/usage), and what
		 * KooGallery would refuse about it. */
		const char *w[5] = { o[6].value, o[0].value, o[1].value, o[2].value, window };
		res = exec_ok(db,
			"WITH w AS (SELECT w_begin AS b, w_end AS e"
			"  FROM koogate_usage_window($2::timestamptz, $3::timestamptz, $4::timestamptz, $5::int))"
			" SELECT w.b, w.e, CASE"
			"  WHEN i.instance_id IS NULL THEN 'no instance ' || $1 || ' (koogate instances lists them)'"
			"  WHEN i.status = 'released' THEN 'instance ' || $1 || ' is released: KooGallery takes no usage for it'"
			"  WHEN i.charging_mode IN ('PERIOD', 'ONE_TIME') OR (i.generation = 1 AND i.charging_mode = '3')"
			"   THEN 'instance ' || $1 || ' is ' || CASE WHEN i.charging_mode = 'PERIOD' THEN 'period-billed' ELSE 'billed once' END"
			"   || ' (chargingMode ' || i.charging_mode || '): KooGallery takes usage only for pay-per-use instances'"
			"  WHEN w.b < now() - interval '21 days' THEN 'the window ' || to_char(w.b AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
			"   || ' UTC began more than 21 days ago: KooGallery refuses it (MKT.9004)'"
			"  END FROM w LEFT JOIN instance i ON i.instance_id = $1", 5, w);
		if (!res)
			return 1;
		if (!PQgetisnull(res, 0, 2)) {
			fputs("koogate: usage add: ", stderr);
			put_text(stderr, PQgetvalue(res, 0, 2));     /* it quotes the id as given */
			fputs("; nothing recorded\n", stderr);
			PQclear(res);
			return 1;
		}
		const char *p[7] = { o[6].value, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), o[7].value,
		                     o[3].value, o[4].value, o[5].set ? "true" : "false" };
		PGresult *add = PQexecParams(db, "SELECT koogate_usage_add($1, $2::timestamptz, $3::timestamptz, $4::numeric,"
		                                 " $5, $6, $7::boolean)", 7, NULL, p, NULL, NULL, 0);
		PQclear(res);
		if (PQresultStatus(add) != PGRES_TUPLES_OK) {
			const char *state = PQresultErrorField(add, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorField(add, PG_DIAG_MESSAGE_PRIMARY);

			fputs("koogate: usage add: ", stderr);
			put_text(stderr, msg ? msg : PQerrorMessage(db));
			fputc('\n', stderr);
			if (state && !strcmp(state, "23505"))
				fprintf(stderr, "koogate: to replace a value not yet pushed, run the same command with --correct\n");
			PQclear(add);
			return 1;
		}
		printf("recorded: metering_sn %s\n", PQgetvalue(add, 0, 0));
		PQclear(add);
		return 0;
	}
	if (strcmp(sub, "push") == 0) {
		struct opt o[] = { { "max", true, "1000000", false }, { "quiet", false, NULL, false } };
		struct kg_push_stats st;
		struct kg_usage_backlog left = { -1, -1, -1 };

		if (!parse_opts(argc - 1, argv + 1, o, 2, NULL))
			return 2;
		if (!connect_db())
			return 2;
		if (!kg_usage_push(atol(o[0].value), !o[1].set, &st)) {
			fprintf(stderr, "koogate: usage push stopped: database failure\n");
			return 1;
		}
		kg_usage_left(&left);
		if (st.requeued)
			printf("usage push: %ld held records queued again (the push configuration changed)\n", st.requeued);
		printf("usage push: %ld batches, %ld records sent, %ld accepted, %ld rejected, %ld deferred, "
		       "%ld expired, %ld left, %ld held, %ld in open windows\n", st.batches, st.sent, st.accepted,
		       st.rejected, st.deferred, st.expired, left.due, left.held, left.open);
		/* Non-zero when a person should look: refusals, expiries, a marketplace that keeps failing,
		 * or records held until the configuration is fixed. */
		return st.rejected || st.expired || st.deferred || left.held ? 3 : 0;
	}
	if (strcmp(sub, "requeue") == 0) {
		struct opt o[] = { { "instance", true, NULL, false } };
		long n;

		if (!parse_opts(argc - 1, argv + 1, o, 1, NULL))
			return 2;
		if (!connect_db())
			return 2;
		if ((n = kg_usage_requeue(true, o[0].value)) < 0)
			return 1;
		printf("held records queued again: %ld (koogate usage push sends them)\n", n);
		return 0;
	}
	if (strcmp(sub, "list") == 0) {
		static const char *const states[] = { "pending", "sent", "rejected", "expired", "held", NULL };
		struct opt o[] = { { "instance", true, NULL, false }, { "state", true, NULL, false },
		                   { "json", false, NULL, false }, { "limit", true, "100", false } };
		const char *p[3];

		if (!parse_opts(argc - 1, argv + 1, o, 4, NULL) || !opt_choice(&o[1], states) || !(db = connect_db()))
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
	fprintf(stderr, "usage: koogate usage add|push|requeue|list ... (see koogate help usage)\n");
	return 2;
}

int cmd_orders(int argc, char **argv)
{
	struct opt o[] = { { "max", true, "100", false }, { "retry-failed", false, NULL, false } };
	const char *sub = NULL;
	PGconn *db;
	int n;

	if (!parse_opts(argc, argv, o, 2, &sub) || !sub || strcmp(sub, "fetch") != 0) {
		fprintf(stderr, "usage: koogate orders fetch [--max N] [--retry-failed]\n");
		return 2;
	}
	if (!(db = connect_db()))
		return 2;
	if (o[1].set) {
		PGresult *res = exec_ok(db, "UPDATE instance_order SET fetch_state = 'pending', fetch_next_at = now()"
		                            " WHERE fetch_state = 'failed'", 0, NULL);
		if (!res)
			return 1;
		printf("failed orders queued again: %s\n", PQcmdTuples(res));
		PQclear(res);
	}
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

/* What an on-call person looks at first: configuration, database,
 * migrations, the outbox, the usage backlog, order fetches, recent calls. */
/* Not ok as koogate_call_kind (sql/023) has it, written out so that it works
 * before that migration: a login redirect (302, no result code) is a success. */
#define CALL_FAILED "NOT (verdict = 'ok' AND http_status < 400 AND COALESCE(result_code, '000000') = '000000')"
#define CALL_COLUMNS "SELECT to_char(at AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS at_utc, program," \
	" COALESCE(activity, '-') AS activity, http_status AS http, COALESCE(result_code, '-') AS result, verdict"

int cmd_status(int argc, char **argv)
{
	struct opt o[] = { { "json", false, NULL, false } };
	PGconn *db;
	PGresult *res;
	DIR *d;
	struct dirent *e;
	int files = 0, rc = 0;
	const char *login;

	if (!parse_opts(argc, argv, o, 1, NULL))
		return 2;
	if (!load_config())
		return EXIT_USAGE;
	printf("configuration: ok (%zu basic key(s), %zu Kit key(s), master key %s, provisioning %s)\n",
	       kg_cfg.basic_keys.n, kg_cfg.kit_keys.n, kg_cfg.has_master_key ? "set" : "MISSING",
	       kg_cfg.provision_mode == KG_PROVISION_AUTO ? "auto" : "external");
	/* The login pages fail for a buyer with a reference id; say why here first. */
	if ((login = kg_config_login_problem(kg_cfg.login_mode)))
		printf("login (%s mode): NOT READY: %s; /koogate/login shows buyers an error page with a reference id\n",
		       kg_cfg.login_mode, login);
	else
		printf("login (%s mode): ok\n", kg_cfg.login_mode);
	if (!kg_db_ready()) {
		printf("database: UNREACHABLE\n");
		return 1;
	}
	db = kg_db_conn();
	printf("database: ok (%s)\n", PQdb(db));
	if ((d = opendir(sql_dir()))) {
		while ((e = readdir(d)))
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && strstr(e->d_name, ".sql"))
				files++;
		closedir(d);
	}
	if ((res = exec_ok(db, "SELECT count(*) FROM schema_migrations", 0, NULL))) {
		int applied = atoi(PQgetvalue(res, 0, 0));
		printf("migrations: %d applied, %d in %s%s\n", applied, files, sql_dir(),
		       applied < files ? " (run koogate migrate)" : "");
		rc |= applied < files;
		PQclear(res);
	}
	/* The status page's verdict (sql/023), once the schema has it. */
	if (!(rc & 1) && (res = exec_ok(db, "SELECT level, reason FROM koogate_health(15)", 0, NULL))) {
		printf("health: %s\n", PQntuples(res) ? PQgetvalue(res, 0, 0) : "green");
		for (int r = 0; r < PQntuples(res); r++)
			printf("  %s: %s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
		PQclear(res);
	}
	res = exec_ok(db,
		"SELECT (SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM"
		"         (SELECT status, count(*) n FROM instance GROUP BY status) s),"
		" (SELECT count(*) FROM event WHERE delivered_at IS NULL),"
		" (SELECT count(*) FROM event WHERE delivered_at IS NULL AND last_error IS NOT NULL),"
		" (SELECT count(*) FROM usage_record WHERE state = 'pending'),"
		" (SELECT count(*) FROM usage_record WHERE state IN ('rejected', 'expired')),"
		" (SELECT count(*) FROM instance_order WHERE fetch_state = 'pending'),"
		" (SELECT count(*) FROM instance_order WHERE fetch_state = 'failed'),"
		" (SELECT COALESCE(sum(calls), 0) FROM inbound_call WHERE at > now() - interval '24 hours'),"
		" (SELECT COALESCE(sum(calls), 0) FROM inbound_call WHERE at > now() - interval '24 hours' AND probe IS NULL AND " CALL_FAILED "),"
		" (SELECT count(*) FROM tenant WHERE deleted_at IS NULL),"
		" (SELECT count(*) FROM usage_record WHERE state = 'held'),"
		" (SELECT COALESCE(sum(calls), 0) FROM inbound_call WHERE at > now() - interval '24 hours' AND probe IS NOT NULL)", 0, NULL);
	if (res) {
		printf("instances: %s\n", PQgetisnull(res, 0, 0) ? "none" : PQgetvalue(res, 0, 0));
		printf("tenants: %s bound\n", PQgetvalue(res, 0, 9));
		printf("events: %s undelivered, %s of them failing\n", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		printf("usage: %s pending, %s rejected or expired, %s held\n", PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
		       PQgetvalue(res, 0, 10));
		if (atoi(PQgetvalue(res, 0, 10)) > 0)
			printf("  NEEDS A PERSON: usage held because KooGallery refused the push configuration (usage_key,"
			       " apig_ak/apig_sk, permissions; see koogate usage list --state held); fix it and they are sent"
			       " again, or run koogate usage requeue\n");
		printf("order fetches: %s pending, %s failed\n", PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6));
		printf("inbound calls (24 h): %s, %s not successful (not counting %s from probes: koogate simulate, health checks)\n",
		       PQgetvalue(res, 0, 7), PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 11));
		rc |= atoi(PQgetvalue(res, 0, 2)) > 0 || atoi(PQgetvalue(res, 0, 4)) > 0 || atoi(PQgetvalue(res, 0, 6)) > 0 ||
		      atoi(PQgetvalue(res, 0, 10)) > 0;
		PQclear(res);
	}
	/* Probes (koogate simulate, health checks) fail on purpose: apart. */
	static const struct { const char *title, *sql; } lists[] = {
		{ "last inbound calls", CALL_COLUMNS ", round(duration_ms::numeric, 1) AS ms, calls, COALESCE(instance_id, '') AS instance,"
		  " COALESCE(probe, '') AS probe FROM inbound_call ORDER BY at DESC, id DESC LIMIT 10" },
		{ "last failures", CALL_COLUMNS ", calls FROM inbound_call WHERE probe IS NULL AND " CALL_FAILED " ORDER BY at DESC, id DESC LIMIT 10" },
		{ "last probe calls that did not succeed (expected: not faults)", CALL_COLUMNS ", probe, calls FROM inbound_call"
		  " WHERE probe IS NOT NULL AND " CALL_FAILED " ORDER BY at DESC, id DESC LIMIT 10" },
	};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
		printf("\n%s:\n", lists[i].title);
		if ((res = exec_ok(db, lists[i].sql, 0, NULL))) {
			print_rows(res, false);
			PQclear(res);
		}
	}
	kg_db_close();
	return rc ? 3 : 0;
}
