/* SPDX-License-Identifier: ISC */
#include "listen.h"
#include "ck.h"
#include "clock.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

/* A worker that dies sooner than this after its start is restarted only after
 * a pause, doubled each time up to RESTART_PAUSE_MAX_MS: a worker that cannot
 * run must not turn into a fork loop. */
#define QUICK_DEATH_MS        1000
#define RESTART_PAUSE_MS      1000
#define RESTART_PAUSE_MAX_MS 16000
/* How long stopping waits for the workers' last requests and audit rows. */
#define STOP_GRACE_MS        20000

bool kg_listen_adopt(char *err, size_t errsz)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	int listening = 0, flags;
	socklen_t len = sizeof listening;

	if (fds && pid && strtol(pid, NULL, 10) == (long)getpid()) {
		if (strcmp(fds, "1") != 0) {
			snprintf(err, errsz, "LISTEN_FDS=%.8s: the socket unit must pass exactly one socket", fds);
			return false;
		}
		if (dup2(SD_LISTEN_FDS_START, 0) < 0) {
			snprintf(err, errsz, "LISTEN_FDS: fd 3: %s", strerror(errno));
			return false;
		}
		close(SD_LISTEN_FDS_START);
	}
	/* Not inherited by anything this program runs (the provisioning hook). */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
		snprintf(err, errsz, "standard input is not a listening socket: koogate's programs are started by "
		         "the web server (mod_fcgid, lighttpd) or by a socket unit (koogate-fcgi@.socket)");
		return false;
	}
	flags = fcntl(0, F_GETFL);
	if (flags < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, errsz, "listening socket: %s", strerror(errno));
		return false;
	}
	return true;
}

int kg_listen_accept(FCGX_Request *f)
{
	int r = FCGX_Accept_r(f);

	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return 0;
	return r >= 0 ? 1 : -1;
}

unsigned kg_processes_wanted(void)
{
	const char *s = getenv("KOOGATE_PROCESSES");
	int64_t n;

	if (!s || !*s)
		return 1;
	if (!ck_digits(s, strlen(s)) || !ck_parse_i64(s, &n) || n < 1 || n > KG_MAX_PROCESSES)
		return 0;
	return (unsigned)n;
}

struct worker {
	pid_t  pid;             /* 0: not running */
	double started_ms;
	double restart_at_ms;   /* when pid == 0: start again at this time */
	int    pause_ms;
};

static sigset_t supervised;     /* taken with sigtimedwait, blocked otherwise */

static bool start_worker(struct worker *w, const char *name)
{
	pid_t supervisor = getpid(), pid = fork();

	if (pid < 0) {
		kg_log("supervisor: cannot start a %s worker: %s", name, strerror(errno));
		w->restart_at_ms = kg_mono_ms() + RESTART_PAUSE_MS;
		return false;
	}
	if (pid == 0) {
		/* The worker: a supervisor killed with SIGKILL takes it along
		 * (also one that died before the request was made). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != supervisor)
			_exit(0);
		sigprocmask(SIG_UNBLOCK, &supervised, NULL);
		kg_log_init(name);
		return true;
	}
	w->pid = pid;
	w->started_ms = kg_mono_ms();
	return false;
}

static void describe_exit(const char *name, pid_t pid, int status, char *buf, size_t n)
{
	if (WIFSIGNALED(status))
		snprintf(buf, n, "%s worker %d was killed by signal %d (%s)", name, (int)pid, WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "%s worker %d exited with status %d", name, (int)pid, WEXITSTATUS(status));
}

/* Forwards SIG to every running worker. */
static void signal_workers(struct worker *w, unsigned n, int sig)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, sig);
}

static unsigned reap(struct worker *w, unsigned n, const char *name, bool stopping)
{
	unsigned reaped = 0;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			char what[160];
			double lived;

			if (w[i].pid != pid)
				continue;
			w[i].pid = 0;
			reaped++;
			if (stopping)
				break;
			describe_exit(name, pid, status, what, sizeof what);
			lived = kg_mono_ms() - w[i].started_ms;
			if (lived < QUICK_DEATH_MS) {
				w[i].pause_ms = w[i].pause_ms ? w[i].pause_ms * 2 : RESTART_PAUSE_MS;
				if (w[i].pause_ms > RESTART_PAUSE_MAX_MS)
					w[i].pause_ms = RESTART_PAUSE_MAX_MS;
			} else {
				w[i].pause_ms = 0;
			}
			w[i].restart_at_ms = kg_mono_ms() + w[i].pause_ms;
			kg_log("supervisor: %s; starting another%s", what, w[i].pause_ms ? " after a pause" : "");
			break;
		}
	}
	return reaped;
}

static void stop_workers(struct worker *w, unsigned n, const char *name)
{
	double deadline = kg_mono_ms() + STOP_GRACE_MS;
	unsigned running = 0;

	for (unsigned i = 0; i < n; i++)
		running += w[i].pid > 0;
	signal_workers(w, n, SIGTERM);
	while (running > 0) {
		double left = deadline - kg_mono_ms();
		struct timespec ts = { 0, 50 * 1000000L };

		if (left <= 0) {
			kg_log("supervisor: %u %s workers still running after %d s; killing them", running, name,
			       STOP_GRACE_MS / 1000);
			signal_workers(w, n, SIGKILL);
			deadline = kg_mono_ms() + STOP_GRACE_MS;
		}
		(void)sigtimedwait(&supervised, NULL, &ts);
		running -= reap(w, n, name, true);
	}
}

void kg_supervise(const char *name, unsigned n)
{
	struct worker w[KG_MAX_PROCESSES] = { { 0 } };

	if (n <= 1)
		return;
	static const int taken[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

	/* Default actions first: a signal inherited as ignored (nohup, SIGCHLD
	 * ignored by a parent) is discarded before sigtimedwait could take it,
	 * and a handler someone installed would be inherited by the workers. */
	sigemptyset(&supervised);
	for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
		signal(taken[i], SIG_DFL);
		sigaddset(&supervised, taken[i]);
	}
	sigprocmask(SIG_BLOCK, &supervised, NULL);
	kg_log("supervisor: %u %s workers on one listening socket", n, name);
	for (;;) {
		double now = kg_mono_ms(), next = -1;
		struct timespec wait;
		int sig;

		for (unsigned i = 0; i < n; i++) {
			if (w[i].pid != 0)
				continue;
			if (w[i].restart_at_ms <= now) {
				if (start_worker(&w[i], name))
					return;                 /* in the new worker */
			}
			if (w[i].pid == 0 && (next < 0 || w[i].restart_at_ms < next))
				next = w[i].restart_at_ms;
		}
		if (next >= 0) {
			double ms = next > now ? next - now : 1;

			wait.tv_sec = (time_t)(ms / 1000);
			wait.tv_nsec = (long)((ms - (double)wait.tv_sec * 1000) * 1000000);
		}
		sig = sigtimedwait(&supervised, NULL, next >= 0 ? &wait : NULL);
		switch (sig) {
		case SIGCHLD:
			reap(w, n, name, false);
			break;
		case SIGHUP:
			if (*kg_cfg.log_file && !kg_log_open(kg_cfg.log_file))
				kg_log("log_file %s cannot be reopened; logging to the old file", kg_cfg.log_file);
			signal_workers(w, n, SIGHUP);
			break;
		case SIGTERM:
		case SIGINT:
			kg_log("supervisor: stopping the %s workers", name);
			stop_workers(w, n, name);
			exit(0);
		default:                /* a pause is over, or EINTR */
			break;
		}
	}
}
