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

bool parse_opts(int argc, char **argv, struct opt *opts, size_t n, const char **positional);
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
