/* SPDX-License-Identifier: ISC */
/* Where a program's requests come from, and how many processes take them.
 *
 * A FastCGI program finds its listening socket on standard input: mod_fcgid,
 * lighttpd and spawn-fcgi put it there. A systemd socket unit passes it as
 * fd 3 with LISTEN_FDS=1 instead (sd_listen_fds(3)); kg_listen_adopt moves it
 * to fd 0, so the rest of the program sees one convention.
 *
 * Under mod_fcgid and lighttpd every process has a socket of its own. Behind
 * mod_proxy_fcgi one socket is shared: KOOGATE_PROCESSES=N makes the program
 * a small supervisor that starts N workers on it, starts a worker again when
 * one dies, and stops them all on SIGTERM. The socket is made non-blocking,
 * so that the workers a connection woke but a sibling took go back to
 * waiting (where SIGTERM and the idle audit flush are handled) instead of
 * sleeping in accept(). */
#ifndef KG_LISTEN_H
#define KG_LISTEN_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest KOOGATE_PROCESSES; each worker keeps a PostgreSQL connection. */
#define KG_MAX_PROCESSES 64

/* Makes fd 0 the listening socket (from LISTEN_FDS if set) and non-blocking.
 * False, with the reason in ERR, when there is none. */
bool kg_listen_adopt(char *err, size_t errsz);

/* Takes the connection that woke the caller: 1 with a request in F, 0 when a
 * sibling took it first (wait again), -1 when the socket failed (stop). */
int kg_listen_accept(FCGX_Request *f);

/* Reads KOOGATE_PROCESSES: 1 (unset) .. KG_MAX_PROCESSES, or 0 when the
 * value is not a number in that range. */
unsigned kg_processes_wanted(void);

/* With N > 1, becomes the supervisor of N workers and never returns (it
 * exits when stopped); returns in each worker. With N <= 1, returns at once. */
void kg_supervise(const char *name, unsigned n);

#endif
