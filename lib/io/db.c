/* SPDX-License-Identifier: ISC */
#include "db.h"
#include "clock.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A connection used this recently is not polled for a server-side close. */
#define LIVENESS_QUIET_MS 100

bool kg_db_notify_later;

static PGconn  *conn;
static unsigned conn_gen;
static double   last_used_ms;
static char     last_state[6];
static char     last_message[256];
static bool     warned;         /* a WARNING arrived during the current statement */


static void drop(void)
{
	if (conn)
		PQfinish(conn);
	conn = NULL;
}

/* NOTICEs ("already exists, skipping") are not faults; keep them out of logs.
 * A WARNING is noted: koogate's SQL raises none, and the one that matters is
 * synchronous replication's "canceling wait for synchronous replication"
 * (exec_bounded cancelled a commit no synchronous standby confirmed): the
 * commit then stands locally but may be lost on a failover, so it must not be
 * answered as a success. */
static void note_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	(void)arg;
	if (sev && strcmp(sev, "WARNING") == 0)
		warned = true;
}

bool kg_db_ready(void)
{
	char timeout[16], options[96], user_timeout[16];
	const char *kw[] = { "gssencmode", "tcp_user_timeout", "dbname", "connect_timeout", "options",
	                     "fallback_application_name", NULL };
	const char *val[7];

	if (conn && PQstatus(conn) == CONNECTION_OK) {
		/* An idle connection with something to read has usually been closed
		 * by the server (a restart sends FATAL, then EOF): read until it is
		 * drained, so the loss shows before a statement fails on it. */
		struct pollfd p = { PQsocket(conn), POLLIN, 0 };
		double now = kg_mono_ms();
		bool alive = true;

		if (now - last_used_ms < LIVENESS_QUIET_MS) {
			last_used_ms = now;
			return true;
		}
		for (int rounds = 0; alive && rounds < 8 && poll(&p, 1, 0) > 0; rounds++)
			alive = PQconsumeInput(conn) && PQstatus(conn) == CONNECTION_OK;
		if (alive && PQstatus(conn) == CONNECTION_OK) {
			last_used_ms = now;
			return true;
		}
		kg_log("database connection was closed by the server; reconnecting");
	}
	drop();
	snprintf(timeout, sizeof timeout, "%d", kg_cfg.db_timeout);
	/* A statement can never hold a request past the marketplace's 5 s. */
	snprintf(options, sizeof options, "-c statement_timeout=%d%s", kg_cfg.db_timeout * 1000,
	         kg_db_notify_later ? " -c koogate.notify_later=on" : "");
	/* No GSSAPI encryption unless db or PGGSSENCMODE asks for it: libpq would
	 * look for Kerberos credentials at every TCP connect (0.66 MB per
	 * process). Before dbname, so that a gssencmode in db overrides it. */
	val[0] = getenv("PGGSSENCMODE") ? "" : "disable";
	/* A server machine that vanishes sends no reset: without this, a
	 * statement on its connection waits for TCP's retransmissions (minutes)
	 * instead of failing, so that the next request reconnects to whichever
	 * host is then the primary. Before dbname too; unix sockets ignore it. */
	snprintf(user_timeout, sizeof user_timeout, "%d", kg_cfg.db_timeout * 1000);
	val[1] = user_timeout;
	val[2] = kg_cfg.db;
	val[3] = timeout;
	val[4] = options;
	val[5] = "koogate";
	val[6] = NULL;
	conn = PQconnectdbParams(kw, val, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[256];

		snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
		msg[strcspn(msg, "\n")] = '\0';
		kg_log("database unreachable: %s", msg);
		drop();
		return false;
	}
	PQsetNoticeReceiver(conn, note_notice, NULL);
	conn_gen++;
	last_used_ms = kg_mono_ms();
	return true;
}

static void note_failure(PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];

	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(last_state, sizeof last_state, "%s", state ? state : "");
	snprintf(last_message, sizeof last_message, "%s", primary ? primary : "database error");
	snprintf(msg, sizeof msg, "%s", conn ? PQerrorMessage(conn) : "no connection");
	msg[strcspn(msg, "\n")] = '\0';
	/* Unique violations are answered by the callers; the rest are faults. A
	 * refused value (class 22) is answered too, but its cause is logged:
	 * otherwise a value C let through leaves nothing to read. */
	if (strncmp(last_state, "22", 2) == 0)
		kg_log("database refused a value in %s (SQLSTATE %s): %s", what, last_state, msg);
	else if (strcmp(last_state, "23505") != 0)
		kg_log("database error in %s: %s", what, msg);
	if (conn && PQstatus(conn) != CONNECTION_OK)
		drop();
}

static bool prepared(struct kg_stmt *st)
{
	PGresult *res;

	if (st->prepared_gen == conn_gen)
		return true;
	res = PQprepare(conn, st->name, st->sql, st->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		note_failure(res, st->name);
		PQclear(res);
		return false;
	}
	PQclear(res);
	st->prepared_gen = conn_gen;
	return true;
}

/* A success that came with a WARNING (see note_notice) is not one. */
static bool confirmed(const char *what)
{
	if (!warned)
		return true;
	warned = false;
	snprintf(last_state, sizeof last_state, "%s", "KG003");
	snprintf(last_message, sizeof last_message, "%s", "commit not confirmed by the synchronous standby");
	kg_log("database warning in %s: the commit was not confirmed by a synchronous standby; "
	       "answered as a failure", what);
	return false;
}

/* NULL unless the statement's result is COMMAND_OK or TUPLES_OK. */
static PGresult *checked(PGresult *res, const struct kg_stmt *st)
{
	ExecStatusType s = PQresultStatus(res);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		note_failure(res, st->name);
	else if (confirmed(st->name))
		return res;
	PQclear(res);
	return NULL;
}

/* A statement's deadline: db_timeout plus a margin. statement_timeout does
 * not cover a commit's wait for a synchronous standby (PostgreSQL disarms it
 * before committing), so with the standby gone a write would wait for ever.
 * Past the deadline the statement is cancelled; a cancelled commit wait
 * comes back as a success with a WARNING (note_notice), other statements as
 * an error. No answer even then: the connection is dropped. */
struct bound {
	double deadline;
	bool   cancelled;
};

static struct bound bound_start(void)
{
	return (struct bound){ kg_mono_ms() + kg_cfg.db_timeout * 1000.0 + 500, false };
}

/* Waits until PQgetResult will not block; false when the connection was
 * dropped for want of an answer. */
static bool await_result(struct bound *b, const char *what)
{
	while (PQisBusy(conn)) {
		struct pollfd p = { PQsocket(conn), POLLIN, 0 };
		double left = b->deadline - kg_mono_ms();

		if (left <= 0 && b->cancelled) {
			kg_log("database error in %s: no answer after a cancel; dropping the connection", what);
			drop();
			return false;
		}
		if (left <= 0) {
			PGcancel *c = PQgetCancel(conn);
			char err[128];

			if (c && !PQcancel(c, err, sizeof err))
				kg_log("database: cancelling %s failed: %s", what, err);
			PQfreeCancel(c);
			b->cancelled = true;
			b->deadline = kg_mono_ms() + 1000;
			continue;
		}
		if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(conn))
			break;      /* PQgetResult reports it */
	}
	return true;
}

/* PQexecPrepared (or PQexec of sql) within its deadline. */
static PGresult *exec_bounded(const struct kg_stmt *st, const char *const *params, const char *sql)
{
	struct bound b = bound_start();
	PGresult *last = NULL, *r;

	warned = false;
	if (!(sql ? PQsendQuery(conn, sql) : PQsendQueryPrepared(conn, st->name, st->nparams, params, NULL, NULL, 0)))
		return PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
	for (;;) {
		if (!await_result(&b, sql ? sql : st->name)) {
			PQclear(last);
			return NULL;
		}
		if (!(r = PQgetResult(conn)))
			break;
		PQclear(last);
		last = r;
	}
	return last ? last : PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
}

static PGresult *run(struct kg_stmt *st, const char *const *params)
{
	PGresult *res;

	if (!kg_db_ready() || !prepared(st))
		return NULL;
	if (!(res = exec_bounded(st, params, NULL)))
		return NULL;
	return checked(res, st);
}

static enum kg_prelude prelude_outcome(PGresult *res)
{
	enum kg_prelude o;

	if (!res)
		return KG_PRELUDE_FAILED;
	o = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? KG_PRELUDE_TRUE : KG_PRELUDE_FALSE;
	PQclear(res);
	return o;
}

void kg_db_prelude(struct kg_tx *tx, struct kg_stmt *st, struct kg_stmt *in_write, const char *const *params)
{
	tx->prelude = st;
	tx->prelude_in_write = in_write;
	tx->params = params;
	tx->state = KG_PRELUDE_PENDING;
}

enum kg_prelude kg_db_prelude_settle(struct kg_tx *tx)
{
	if (!tx)
		return KG_PRELUDE_NONE;
	if (tx->state == KG_PRELUDE_PENDING) {
		tx->in_write = false;
		tx->state = prelude_outcome(run(tx->prelude, tx->params));
	}
	return tx->state;
}

static bool prelude_allows(struct kg_tx *tx);

static bool is_refusal(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return PQresultStatus(res) == PGRES_FATAL_ERROR && state && strcmp(state, "KG001") == 0;
}

/* The pending prelude and the request's first statement in one round trip
 * (libpq pipeline mode). A reading statement gets a transaction of its own
 * after the prelude's (two Syncs): the claim stands whatever the read does.
 * A writing statement shares the transaction of the prelude's in-write form
 * (one Sync): one commit instead of two, and a claim that fails raises
 * KG001, so that the write never happens. If the write fails, the claim is
 * rolled back with it and is pending again: it runs before the request's
 * next statement, or alone when the request ends. Rows are returned only
 * when the prelude said true. Anything unexpected drops the connection. */
static PGresult *with_prelude(struct kg_tx *tx, struct kg_stmt *st, const char *const *params, bool in_write)
{
	struct kg_stmt *first = in_write ? tx->prelude_in_write : tx->prelude;
	struct bound b = bound_start();
	PGresult *got[2] = { NULL, NULL }, *r;
	int n = 0, syncs = 0, nulls = 0, want = in_write ? 1 : 2;

	if (!kg_db_ready() || !prepared(first) || !prepared(st)) {
		tx->state = KG_PRELUDE_FAILED;
		return NULL;
	}
	/* Inside a transaction the caller opened, the claim must commit on its own. */
	if (in_write && PQtransactionStatus(conn) != PQTRANS_IDLE)
		return prelude_allows(tx) ? run(st, params) : NULL;
	warned = false;
	tx->in_write = in_write;
	if (PQenterPipelineMode(conn) &&
	    PQsendQueryPrepared(conn, first->name, first->nparams, tx->params, NULL, NULL, 0) &&
	    (in_write || PQpipelineSync(conn)) &&
	    PQsendQueryPrepared(conn, st->name, st->nparams, params, NULL, NULL, 0) &&
	    PQpipelineSync(conn)) {
		/* Each query gives one result and a NULL; each Sync a PIPELINE_SYNC. */
		while (syncs < want && nulls < 2) {
			if (!await_result(&b, st->name))
				break;
			if (!(r = PQgetResult(conn))) {
				nulls++;
				continue;
			}
			nulls = 0;
			if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
				syncs++;
			else if (n < 2)
				got[n++] = r, r = NULL;
			PQclear(r);
		}
	}
	if (!conn || syncs != want || n != 2 || !PQexitPipelineMode(conn)) {
		kg_log("database error in %s: pipeline failed: %s", st->name, conn ? PQerrorMessage(conn) : "");
		PQclear(got[0]);
		PQclear(got[1]);
		tx->state = KG_PRELUDE_FAILED;
		drop();
		return NULL;
	}
	if (in_write && is_refusal(got[0])) {
		PQclear(got[0]);
		tx->state = KG_PRELUDE_FALSE;
	} else {
		tx->state = prelude_outcome(checked(got[0], first));
	}
	if (tx->state != KG_PRELUDE_TRUE) {
		PQclear(got[1]);
		return NULL;
	}
	if (!(r = checked(got[1], st)) && in_write)
		tx->state = KG_PRELUDE_PENDING;
	return r;
}

/* False when the prelude has not said true: nothing else may run. */
static bool prelude_allows(struct kg_tx *tx)
{
	enum kg_prelude o = kg_db_prelude_settle(tx);

	if (o == KG_PRELUDE_NONE || o == KG_PRELUDE_TRUE)
		return true;
	snprintf(last_state, sizeof last_state, "%s", o == KG_PRELUDE_FALSE ? "KG001" : "KG002");
	snprintf(last_message, sizeof last_message, "%s", "refused before this statement ran");
	return false;
}

PGresult *kg_db_exec(struct kg_tx *tx, struct kg_stmt *st, const char *const *params)
{
	last_state[0] = '\0';
	if (tx && tx->state == KG_PRELUDE_PENDING && (st->reads_only || tx->prelude_in_write))
		return with_prelude(tx, st, params, !st->reads_only);
	if (!prelude_allows(tx))
		return NULL;
	return run(st, params);
}

long kg_db_run(struct kg_tx *tx, struct kg_stmt *st, const char *const *params)
{
	PGresult *res = kg_db_exec(tx, st, params);
	long n;

	if (!res)
		return -1;
	n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : atol(PQcmdTuples(res));
	PQclear(res);
	return n;
}

static bool simple(const char *sql)
{
	PGresult *res;
	bool ok;

	if (!kg_db_ready())
		return false;
	if (!(res = exec_bounded(NULL, NULL, sql)))
		return false;
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		note_failure(res, sql);
	else
		ok = confirmed(sql);
	PQclear(res);
	return ok;
}

bool kg_db_begin(struct kg_tx *tx)
{
	/* The prelude commits on its own, never inside the request's transaction. */
	return prelude_allows(tx) && simple("BEGIN");
}

bool kg_db_commit(struct kg_tx *tx)
{
	return prelude_allows(tx) && simple("COMMIT");
}

void kg_db_rollback(void)
{
	if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
		(void)simple("ROLLBACK");
}

const char *kg_db_sqlstate(void)
{
	return last_state;
}

const char *kg_db_error_message(void)
{
	return last_message;
}

void kg_db_bytea_param(const void *p, size_t n, struct kbuf *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;

	kbuf_puts(out, "\\x");
	for (size_t i = 0; i < n; i++) {
		kbuf_putc(out, digits[b[i] >> 4]);
		kbuf_putc(out, digits[b[i] & 15]);
	}
}

bool kg_db_bytea_value(const char *text, struct kbuf *out)
{
	size_t n;
	unsigned char *raw = PQunescapeBytea((const unsigned char *)text, &n);

	if (!raw)
		return false;
	kbuf_put(out, raw, n);
	PQfreemem(raw);
	return true;
}

void kg_db_text_array(const char *const *items, size_t n, struct kbuf *out)
{
	kbuf_putc(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			kbuf_putc(out, ',');
		kbuf_putc(out, '"');
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				kbuf_putc(out, '\\');
			kbuf_putc(out, *s);
		}
		kbuf_putc(out, '"');
	}
	kbuf_putc(out, '}');
}

void kg_db_close(void)
{
	drop();
}

PGconn *kg_db_conn(void)
{
	return conn;
}

unsigned kg_db_generation(void)
{
	return conn_gen;
}
