/* SPDX-License-Identifier: ISC */
/* PostgreSQL: one connection per process, opened lazily, kept across requests
 * and reopened after a failure. Statements are declared once, prepared once
 * per connection, and always parameterised. */
#ifndef KG_DB_H
#define KG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include "buf.h"

struct kg_stmt {
	const char *name;
	const char *sql;
	int         nparams;
	unsigned    prepared_gen;   /* connection generation it was prepared on */
	bool        reads_only;     /* a plain SELECT of tables: may share the prelude's round trip */
};
#define KG_STMT(id, n, text) { #id, text, n, 0, false }
#define KG_READ_STMT(id, n, text) { #id, text, n, 0, true }

/* Set before the first connection: events written on it are not notified in
 * their own transaction but by the next bookkeeping call (sql/010). */
extern bool kg_db_notify_later;

/* Connects if needed; false (logged) when the database cannot be reached. */
bool kg_db_ready(void);

/* The prelude: a statement that must run before anything else a request
 * sends (the nonce claim). It is not sent at once: it travels in the same
 * round trip as the request's first statement. When that one only reads
 * (KG_READ_STMT), each commits on its own. When it writes, the prelude's
 * in-write form (which refuses with SQLSTATE KG001 instead of saying false)
 * shares its transaction: one commit, and no write without the claim. A
 * request that sends nothing gets the prelude alone when it ends (app.c), as
 * does one that opens a transaction (kg_db_begin). Until it has said true, no
 * statement of the request runs: kg_db_exec returns NULL. */
enum kg_prelude {
	KG_PRELUDE_NONE,        /* none this request */
	KG_PRELUDE_PENDING,     /* set, not yet run */
	KG_PRELUDE_TRUE,        /* ran; its boolean answer was true */
	KG_PRELUDE_FALSE,       /* ran; false (or NULL) */
	KG_PRELUDE_FAILED,      /* could not run (logged) */
};
/* A request's database state (after kcgi's struct kreq): its prelude. It
 * lives in the request context (kg_ctx.tx), zeroed for every request, and
 * every statement of the request names it, so that no statement of a V2
 * request can run before its nonce is claimed. NULL means no prelude: work
 * outside a request (tools, housekeeping, audit rows) and the login
 * library, whose programs claim no nonce. */
struct kg_tx {
	struct kg_stmt     *prelude;
	struct kg_stmt     *prelude_in_write;   /* its form for a write's transaction; NULL: none */
	const char *const  *params;     /* valid until the request ends */
	enum kg_prelude     state;
	bool                in_write;   /* it ran in a write's transaction: committed only with it */
};

/* Runs a statement with text parameters (NULL = SQL NULL). Returns a result
 * whose status is COMMAND_OK or TUPLES_OK, or NULL (logged). The caller
 * PQclear()s it. On a connection failure the connection is dropped. */
PGresult *kg_db_exec(struct kg_tx *tx, struct kg_stmt *st, const char *const *params);
/* Runs a statement and returns its affected/returned row count, -1 on error. */
long kg_db_run(struct kg_tx *tx, struct kg_stmt *st, const char *const *params);
bool kg_db_begin(struct kg_tx *tx);
bool kg_db_commit(struct kg_tx *tx);

void kg_db_prelude(struct kg_tx *tx, struct kg_stmt *st, struct kg_stmt *in_write, const char *const *params);
/* Runs the prelude now if it is still pending; its outcome (repeatable). */
enum kg_prelude kg_db_prelude_settle(struct kg_tx *tx);
void kg_db_rollback(void);
/* The SQLSTATE of the last failed statement ("" if none). */
const char *kg_db_sqlstate(void);
/* Its primary message (values the caller may show, e.g. a function's RAISE). */
const char *kg_db_error_message(void);
/* bytea helpers: hex text parameter, and decoding a text-format result. */
void kg_db_bytea_param(const void *p, size_t n, struct kbuf *out);
bool kg_db_bytea_value(const char *text, struct kbuf *out);
/* A text[] literal ({"a","b"}) for passing a list as one parameter. */
void kg_db_text_array(const char *const *items, size_t n, struct kbuf *out);
void kg_db_close(void);
PGconn *kg_db_conn(void);
/* Changes at every new connection: a LISTEN, prepared statement or session
 * setting made on an earlier one is gone. */
unsigned kg_db_generation(void);

#endif
