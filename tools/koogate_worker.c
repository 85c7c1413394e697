/* SPDX-License-Identifier: ISC */
/* koogate worker: the provisioning hand-off (issue: operating koogate). It
 * listens for the outbox's NOTIFY and, for each event, runs the vendor's
 * command for its kind with the event as JSON on stdin and a deadline. The
 * command may answer with app info on stdout, which is stored for
 * queryInstance. At-least-once delivery, in order per instance, with
 * back-off; catches up on start and after the database comes back; stops
 * cleanly on SIGTERM. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "koogate.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "orders.h"

#define WORKER_OUTPUT_MAX 65536
#define WORKER_STDERR_TAIL 2048  /* what is kept of a command's stderr */
#define WORKER_STDERR_LINES 5    /* of which the last lines go to last_error */
#define WORKER_IDLE_SAY_S 60     /* --verbose: "listening" this often when idle */

enum delivery { D_NONE, D_DELIVERED, D_SKIPPED, D_FAILED };

static volatile sig_atomic_t stopping;

static struct kg_stmt q_claim = KG_STMT(worker_claim, 2,
	/* A lease: the event is out of reach while its command may still run. */
	"UPDATE event e SET next_at = now() + make_interval(secs => $1::int + 30), attempts = attempts + 1"
	" WHERE e.id = (SELECT c.id FROM event c"
	"  WHERE c.delivered_at IS NULL AND c.next_at <= now() AND c.attempts < $2::int"
	"    AND (c.instance_id IS NULL OR NOT EXISTS (SELECT 1 FROM event p WHERE p.delivered_at IS NULL"
	"         AND p.instance_id = c.instance_id AND p.id < c.id AND p.attempts < $2::int))"
	"  ORDER BY c.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" RETURNING e.id, e.kind, e.test_flag, e.attempts, json_build_object('id', e.id,"
	"  'idempotencyKey', 'koogate-event-' || e.id, 'kind', e.kind, 'at', e.at,"
	"  'instanceId', e.instance_id, 'tenantId', e.tenant_id, 'orderId', e.order_id,"
	"  'orderLineId', e.order_line_id, 'testFlag', e.test_flag, 'attempt', e.attempts, 'detail', e.detail,"
	"  'instance', (SELECT to_jsonb(i) - 'app_password' - 'mobile_phone' - 'email' - 'params'"
	"               FROM instance i WHERE i.instance_id = e.instance_id))::text, COALESCE(e.instance_id, '')");
static struct kg_stmt q_delivered = KG_STMT(worker_delivered, 2,
	"UPDATE event SET delivered_at = now(), last_error = NULL, skipped = $2 WHERE id = $1::bigint");
/* The first start takes "now" as its beginning: earlier events are history,
 * acknowledged as skipped unless --from-beginning ($1), which also hands back
 * what an earlier first start skipped that way. One statement, one
 * transaction. Returns: first start?, skipped now, requeued, pending. */
#define SKIPPED_HISTORY "before the worker's first start (koogate worker --from-beginning delivers it)"
static struct kg_stmt q_start = KG_STMT(worker_start, 2,
	"WITH s AS (INSERT INTO worker_state (from_id) SELECT COALESCE(max(id), 0) FROM event"
	"   ON CONFLICT DO NOTHING RETURNING from_id),"
	" k AS (UPDATE event e SET delivered_at = now(), skipped = $2 FROM s"
	"   WHERE NOT $1::boolean AND e.delivered_at IS NULL AND e.id <= s.from_id RETURNING e.id),"
	" r AS (UPDATE event SET delivered_at = NULL, skipped = NULL, attempts = 0, next_at = now()"
	"   WHERE $1::boolean AND skipped = $2 RETURNING id)"
	" SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM k), (SELECT count(*) FROM r),"
	"  (SELECT count(*) FROM event WHERE delivered_at IS NULL)");
static struct kg_stmt q_failed = KG_STMT(worker_failed, 3,
	"UPDATE event SET last_error = $2, next_at = now() + make_interval(secs => $3::int) WHERE id = $1::bigint");
static struct kg_stmt q_app_info = KG_STMT(worker_app_info, 6,
	"SELECT koogate_set_app_info($1, $2, $3, $4, $5::bytea, $6)");

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static const char *command_for(const char *kind)
{
	static const struct { const char *kind; char **cmd; } table[] = {
		{ "created", &kg_cfg.worker_on_created }, { "renewed", &kg_cfg.worker_on_renewed },
		{ "frozen", &kg_cfg.worker_on_frozen }, { "unfrozen", &kg_cfg.worker_on_unfrozen },
		{ "released", &kg_cfg.worker_on_released }, { "upgraded", &kg_cfg.worker_on_upgraded },
		{ "order-fetched", &kg_cfg.worker_on_order_fetched },
	};
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if (strcmp(kind, table[i].kind) == 0 && **table[i].cmd)
			return *table[i].cmd;
	if ((!strncmp(kind, "tenant-", 7) || !strncmp(kind, "app-", 4) || !strncmp(kind, "users-", 6) ||
	     !strncmp(kind, "org", 3)) && *kg_cfg.worker_on_kit)
		return kg_cfg.worker_on_kit;
	return *kg_cfg.worker_command ? kg_cfg.worker_command : NULL;
}

/* The last bytes a command wrote to stderr: a fixed window, oldest dropped. */
struct tail {
	char   b[WORKER_STDERR_TAIL];
	size_t len;
};

static void tail_put(struct tail *t, const char *p, size_t n)
{
	if (n >= sizeof t->b) {
		p += n - sizeof t->b;
		n = sizeof t->b;
	}
	if (t->len + n > sizeof t->b) {
		size_t drop = t->len + n - sizeof t->b;
		memmove(t->b, t->b + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->b + t->len, p, n);
	t->len += n;
}

/* Appends ": " and the tail's last lines, joined by " / ", to why (bounded
 * by whylen): what last_error and the log show of a failed command. */
static void tail_append(const struct tail *t, char *why, size_t whylen)
{
	size_t end = t->len, start, used = strlen(why);
	int lines = 0;

	while (end && (t->b[end - 1] == '\n' || t->b[end - 1] == '\r'))
		end--;
	for (start = end; start && lines < WORKER_STDERR_LINES; start--)
		if (t->b[start - 1] == '\n' && ++lines == WORKER_STDERR_LINES)
			break;
	if (start == end || used + 3 >= whylen)
		return;
	used += (size_t)snprintf(why + used, whylen - used, ": ");
	for (size_t i = start; i < end && used + 4 < whylen; i++) {
		unsigned char c = (unsigned char)t->b[i];
		if (c == '\n') {
			used += (size_t)snprintf(why + used, whylen - used, " / ");
			continue;
		}
		why[used++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	why[used] = '\0';
}

/* Runs cmd with input on stdin; collects stdout and the tail of stderr.
 * Returns the exit status, or -1 (with why) for a failure to run or the
 * deadline. */
static int run_command(const char *cmd, const char *input, const char *id, const char *kind,
                       const char *instance, struct kbuf *out, struct tail *err, char *why, size_t whylen)
{
	int in[2], outp[2], errp[2], status = 0;
	pid_t pid;
	size_t written = 0, len = strlen(input);
	time_t deadline = time(NULL) + kg_cfg.worker_timeout;

	if (pipe(in) < 0 || pipe(outp) < 0 || pipe(errp) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		close(in[0]); close(in[1]); close(outp[0]); close(outp[1]); close(errp[0]); close(errp[1]);
		setenv("KOOGATE_EVENT_ID", id, 1);
		setenv("KOOGATE_EVENT_KIND", kind, 1);
		setenv("KOOGATE_INSTANCE_ID", instance, 1);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	close(errp[1]);
	/* Until stdout ends; stderr is read alongside (and to its end below). */
	while (outp[0] >= 0 || errp[0] >= 0) {
		struct pollfd fds[3] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 }, { in[1], POLLOUT, 0 } };
		int left = (int)(deadline - time(NULL));

		if (left <= 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			snprintf(why, whylen, "no answer within %d s (killed)", kg_cfg.worker_timeout);
			for (int i = 0; i < 3; i++)
				if (fds[i].fd >= 0)
					close(fds[i].fd);
			return -1;
		}
		if (poll(fds, 3, left * 1000) < 0 && errno != EINTR)
			break;
		if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
			ssize_t w = write(in[1], input + written, len - written);
			if (w > 0)
				written += (size_t)w;
			if (w < 0 || written == len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			char buf[4096];
			ssize_t r;
			int *fd = i ? &errp[0] : &outp[0];

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((r = read(*fd, buf, sizeof buf)) <= 0) {
				close(*fd);
				*fd = -1;
			} else if (i)
				tail_put(err, buf, (size_t)r);
			else if (out->len + (size_t)r <= WORKER_OUTPUT_MAX)
				kbuf_put(out, buf, (size_t)r);
		}
	}
	if (outp[0] >= 0)
		close(outp[0]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (in[1] >= 0)
		close(in[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(why, whylen, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

/* {"appInfo":{"frontEndUrl":…,"adminUrl":…,"userName":…,"password":…,"memo":…}} */
static bool store_app_info(const char *instance, const struct kbuf *out, char *why, size_t whylen)
{
	json_object *j, *app, *v;
	struct kbuf sealed = { 0 }, hex = { 0 };
	const char *f[5] = { NULL };
	static const char *const names[5] = { "frontEndUrl", "adminUrl", "userName", "password", "memo" };
	bool ok = true;

	if (!out->len || !(j = json_tokener_parse(out->p)))
		return true;             /* no answer on stdout is fine */
	if (!json_object_object_get_ex(j, "appInfo", &app) || !json_object_is_type(app, json_type_object)) {
		json_object_put(j);
		return true;
	}
	for (int i = 0; i < 5; i++)
		if (json_object_object_get_ex(app, names[i], &v) && json_object_is_type(v, json_type_string))
			f[i] = json_object_get_string(v);
	if (f[3]) {
		kg_seal(kg_cfg.master_key, f[3], strlen(f[3]), &sealed);
		kg_db_bytea_param(sealed.p, sealed.len, &hex);
	}
	const char *p[6] = { instance, f[0], f[1], f[2], hex.p, f[4] };
	if (!*instance || kg_db_run(NULL, &q_app_info, p) < 0) {
		snprintf(why, whylen, "the app info on stdout was not accepted: %s", *instance ? kg_db_error_message() : "event has no instance");
		ok = false;
	}
	kbuf_free(&sealed);
	kbuf_free(&hex);
	json_object_put(j);
	return ok;
}

static long backoff_s(int attempts)
{
	long s = 5L << (attempts > 10 ? 10 : attempts - 1);
	return s > 3600 ? 3600 : s;
}

/* Handles one due event: D_NONE when there was none (or the database failed). */
static enum delivery deliver_one(bool verbose)
{
	char timeout[16], max[16], why[1200] = "", delay[16];
	PGresult *res;
	struct kbuf out = { 0 };
	struct tail err = { .len = 0 };
	const char *skip = NULL;
	enum delivery d = D_DELIVERED;
	int rc = 0;

	snprintf(timeout, sizeof timeout, "%d", kg_cfg.worker_timeout);
	snprintf(max, sizeof max, "%d", kg_cfg.worker_max_attempts);
	const char *p[2] = { timeout, max };
	if (!(res = kg_db_exec(NULL, &q_claim, p)))
		return D_NONE;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return D_NONE;
	}
	const char *id = PQgetvalue(res, 0, 0), *kind = PQgetvalue(res, 0, 1), *input = PQgetvalue(res, 0, 4);
	const char *instance = PQgetvalue(res, 0, 5), *cmd = command_for(kind);
	bool test = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	int attempts = atoi(PQgetvalue(res, 0, 3));

	/* Acknowledged without running anything: not an error, so skipped. */
	if (test && !kg_cfg.worker_test_events)
		skip = "test event: not provisioned (D19)";
	else if (!cmd)
		skip = "no command configured for this kind";
	if (skip || ((rc = run_command(cmd, input, id, kind, instance, &out, &err, why, sizeof why)) == 0 &&
	             store_app_info(instance, &out, why, sizeof why))) {
		const char *dp[2] = { id, skip };
		kg_db_run(NULL, &q_delivered, dp);
		d = skip ? D_SKIPPED : D_DELIVERED;
		if (verbose)
			kg_log("event %s (%s %s) %s%s", id, kind, instance, skip ? "skipped: " : "delivered", skip ? skip : "");
	} else {
		if (rc > 0)
			snprintf(why, sizeof why, "the command exited with %d", rc);
		tail_append(&err, why, sizeof why);
		snprintf(delay, sizeof delay, "%ld", backoff_s(attempts));
		const char *dp[3] = { id, why, delay };
		kg_db_run(NULL, &q_failed, dp);
		kg_log("event %s (%s %s) attempt %d failed: %s; retry in %s s%s", id, kind, instance, attempts, why,
		       delay, attempts >= kg_cfg.worker_max_attempts ? " (last attempt: a person must look)" : "");
		d = D_FAILED;
	}
	kbuf_free(&out);
	PQclear(res);
	return d;
}

/* The first line: what this run will deliver (and, on the first start, what
 * it leaves as history). False when the database could not say. */
static bool announce_start(bool from_beginning)
{
	const char *p[2] = { from_beginning ? "true" : "false", SKIPPED_HISTORY };
	PGresult *res = kg_db_exec(NULL, &q_start, p);

	if (!res)
		return false;
	long skipped = atol(PQgetvalue(res, 0, 1)), requeued = atol(PQgetvalue(res, 0, 2));
	long pending = atol(PQgetvalue(res, 0, 3)) - skipped + requeued;
	const char *tests = kg_cfg.worker_test_events ? "" : "; test events acknowledged without running anything";

	if (strcmp(PQgetvalue(res, 0, 0), "1") == 0 && !from_beginning)
		kg_log("delivering new events from now on (first start: %ld earlier event%s left as history;"
		       " --from-beginning delivers them)%s", skipped, skipped == 1 ? "" : "s", tests);
	else
		kg_log("delivering %ld pending event%s%s, then new ones as they come%s", pending, pending == 1 ? "" : "s",
		       requeued ? " (history included)" : "", tests);
	PQclear(res);
	return true;
}

static bool listen_on(PGconn *db)
{
	PGresult *res = PQexec(db, "LISTEN koogate_event");
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	return ok;
}

int cmd_worker(int argc, char **argv)
{
	struct opt o[] = { { "once", false, NULL, false }, { "verbose", false, NULL, false },
	                   { "from-beginning", false, NULL, false } };
	struct sigaction sa = { 0 };
	int wait_s = 1;
	bool announced = false;
	long count[4] = { 0 };
	time_t said = 0;
	unsigned listening = 0;     /* the connection generation that LISTENs; 0: none */

	if (!parse_opts(argc, argv, o, 3, NULL) || !load_config())
		return 2;
	if (!kg_cfg.has_master_key) {
		fprintf(stderr, "koogate: worker: master_key is needed to seal app info\n");
		return 2;
	}
	kg_log_init("worker");
	if (!o[0].set)
		kg_log("starting, koogate %s", KG_VERSION);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stopping) {
		PGconn *db;
		enum delivery d;

		/* A new connection (after a restart or a failover to another host)
		 * has lost the LISTEN: listen again, then catch up below. */
		if (!kg_db_ready() || (kg_db_generation() != listening && !listen_on(kg_db_conn()))
		    || (!announced && !announce_start(o[2].set))) {
			if (o[0].set)
				return 1;
			kg_db_close();
			/* The database is away: back off, then catch up. At most 4 s
			 * apart: a failed attempt costs a refused connect, and after a
			 * failover the new primary should be found within a poll. */
			sleep((unsigned)wait_s);
			wait_s = wait_s < 4 ? wait_s * 2 : 4;
			continue;
		}
		announced = true;
		listening = kg_db_generation();
		wait_s = 1;
		/* Catch up on everything due (events missed while down included),
		 * and on the Query Order calls that are due. */
		while (!stopping && (d = deliver_one(o[1].set)) != D_NONE)
			count[d]++;
		if (!stopping && kg_orders_configured())
			(void)kg_orders_fetch_due(10, 10000);
		if (o[0].set)
			break;
		if (o[1].set && time(NULL) - said >= WORKER_IDLE_SAY_S) {
			kg_log("listening for events (since start: %ld delivered, %ld skipped, %ld failed)",
			       count[D_DELIVERED], count[D_SKIPPED], count[D_FAILED]);
			said = time(NULL);
		}
		/* A statement above may have reconnected: that connection does not
		 * listen yet (and the old one is gone). */
		if (kg_db_generation() != listening || !(db = kg_db_conn()))
			continue;
		/* Sleep until a NOTIFY, or 5 s for retries that come due. */
		int sock = PQsocket(db);
		fd_set fds;
		struct timeval tv = { 5, 0 };
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		if (select(sock + 1, &fds, NULL, NULL, &tv) > 0) {
			PGnotify *n;

			if (!PQconsumeInput(db)) {
				kg_log("database connection lost; reconnecting");
				kg_db_close();
				continue;
			}
			while ((n = PQnotifies(db)))
				PQfreemem(n);
		}
		if (PQstatus(db) != CONNECTION_OK)
			kg_db_close();
	}
	kg_log("stopping (%ld delivered, %ld skipped, %ld failed)", count[D_DELIVERED], count[D_SKIPPED], count[D_FAILED]);
	kg_db_close();
	/* --once: a failed event is worth a non-zero exit (cron mails it). */
	return o[0].set && count[D_FAILED] ? 1 : 0;
}
