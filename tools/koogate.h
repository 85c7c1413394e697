/* SPDX-License-Identifier: ISC */
/* koogate, the operator's command: what the subcommand files share. */
#ifndef KOOGATE_H
#define KOOGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <libpq-fe.h>

/* Options of the form --name value or --flag, checked against a list. */
struct opt {
	const char *name;
	bool        has_value;
	const char *value;
	bool        set;
};

/* Exit statuses of every command (documented in `koogate help`). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_LOOK = 3 };

/* The configuration file read when $KOOGATE_CONFIG is not set. */
#define KOOGATE_DEFAULT_CONFIG "/etc/koogate/koogate.conf"

bool parse_opts(int argc, char **argv, struct opt *opts, size_t n, const char **positional);
/* True when the option is unset or its value is one of choices (NULL-
 * terminated); otherwise says which values there are. */
bool opt_choice(const struct opt *o, const char *const *choices);
int die(const char *fmt, const char *arg);
bool load_config(void);
/* Runs sql with n text parameters (n < 0: a script of many statements);
 * prints the error's primary message and returns NULL on failure. */
PGresult *exec_ok(PGconn *db, const char *sql, int n, const char *const *p);
char *read_file(const char *path, size_t *len);
const char *sql_dir(void);
void print_rows(PGresult *res, bool json);
/* Writes v to f with its control characters escaped (kg_term_text). */
void put_text(FILE *f, const char *v);
/* The configuration and the database, or exits: 2 for the configuration,
 * 1 for a database that cannot be reached (the message says why). */
PGconn *connect_db(void);

/* subcommands */
int cmd_migrate(int argc, char **argv);
int cmd_instances(int argc, char **argv);
int cmd_instance(int argc, char **argv);
int cmd_set_app_info(int argc, char **argv);
int cmd_tenants(int argc, char **argv);
int cmd_users(int argc, char **argv);
int cmd_departments(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_usage(int argc, char **argv);
int cmd_orders(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_events(int argc, char **argv);

#endif
