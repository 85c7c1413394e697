/* SPDX-License-Identifier: ISC */
#include "app.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "nonce.h"
#include "response.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/select.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct kg_aeskey appinfo_keys[KG_MAX_KEYS][3];

/* Housekeeping, now and then after an answer: expired nonces, used or
 * expired login states, ended sessions, inbound calls past their retention;
 * a bounded amount each time (sql/013). */
static struct kg_stmt q_prune = KG_STMT(prune_expired, 1, "SELECT koogate_prune($1::int)");

void kg_reply(struct kg_ctx *c, enum kg_result res, const char *msg, json_object *extra)
{
	const struct kg_keyring *ring = c->prog->family == KG_SCHEME_KIT ? &kg_cfg.kit_keys : &kg_cfg.basic_keys;
	const char *key = c->key_index >= 0 ? ring->keys[c->key_index] : ring->n ? ring->keys[0] : NULL;

	if (!kg_nonce_settled(c)) {
		res = c->verdict == KG_V_REPLAY ? KG_EAUTH : KG_EINTERNAL;
		msg = NULL;
	}
	if (res != KG_OK)
		c->follow_up = false;
	c->result = res;
	if (res != KG_OK && c->verdict == KG_V_OK)
		c->verdict = KG_V_REFUSED;
	kg_respond_result(&c->req, key, res, msg, res == KG_OK ? extra : NULL);
}

enum kg_result kg_refuse(struct kg_ctx *c, enum kg_result res, enum kg_verdict verdict, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	c->verdict = verdict;
	kg_log("refused: %s", why);
	return res;
}

void kg_fault(struct kg_ctx *c, int status, enum kg_verdict verdict)
{
	c->verdict = verdict;
	kg_respond_status(&c->req, status);
}

void kg_note_ids(struct kg_ctx *c, const char *instance_id, const char *order_id)
{
	if (instance_id)
		snprintf(c->instance_id, sizeof c->instance_id, "%s", instance_id);
	if (order_id)
		snprintf(c->order_id, sizeof c->order_id, "%s", order_id);
}

const struct kg_aeskey *kg_appinfo_key(const struct kg_ctx *c, enum kg_enctype type)
{
	int i = c->key_index >= 0 ? c->key_index : 0;

	return &appinfo_keys[i][type == KG_ENC_AES128 ? KG_ENC_AES128 : KG_ENC_AES256];
}

/* Memory a request leaves free stays resident (glibc raises its trim threshold
 * once large blocks have been freed). The parsed body goes when the request is
 * done, the body buffer too once it has grown past KEEP_BODY_CAP (it is kept for
 * the next request otherwise), and the free heap pages go back to the system when
 * the process is next idle (KG_AUDIT_IDLE_MS without a request), so that a busy
 * process does not give back memory it is about to use again. */
#define KEEP_BODY_CAP    (128 * 1024)

static bool trim_pending;

static void release_request(struct kg_ctx *c)
{
	json_object_put(c->json);
	c->json = NULL;
	kg_params_free(&c->params);
	trim_pending = true;
	if (c->req.body.cap > KEEP_BODY_CAP)
		kbuf_free(&c->req.body);
}

static volatile sig_atomic_t stopping, reopen_log;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reopen_log = 1;
}

/* Waits for the next request. Queued audit rows are written when none comes
 * within KG_AUDIT_IDLE_MS (after a failed write, they wait for the next request).
 * SIGTERM is blocked while a request is served and taken only here, so the
 * process ends between requests with its rows written. */
static bool next_request(FCGX_Request *f, const sigset_t *waiting_mask)
{
	bool retry = true;

	for (;;) {
		struct timespec idle = { 0, KG_AUDIT_IDLE_MS * 1000000L };
		fd_set in;
		int n;

		if (stopping) {
			kg_audit_flush(false);
			return false;
		}
		/* logrotate moved log_file away and sent SIGHUP: follow the name. */
		if (reopen_log) {
			reopen_log = 0;
			if (*kg_cfg.log_file && !kg_log_open(kg_cfg.log_file))
				kg_log("log_file %s cannot be reopened; logging to the old file", kg_cfg.log_file);
		}
		FD_ZERO(&in);
		FD_SET(0, &in);         /* the FastCGI listening socket */
		n = pselect(1, &in, NULL, NULL, (kg_audit_pending() && retry) || trim_pending ? &idle : NULL,
		            waiting_mask);
		if (n > 0 || (n < 0 && errno != EINTR)) {
			int r = kg_listen_accept(f);

			if (r != 0)
				return r > 0;
			continue;
		}
		if (n == 0 && trim_pending) {
			malloc_trim(0);
			trim_pending = false;
		}
		if (n == 0 && kg_audit_pending() && retry) {
			kg_audit_flush(false);
			retry = kg_audit_pending() == 0;
		}
	}
}

static void derive_keys(void)
{
	for (size_t i = 0; i < kg_cfg.basic_keys.n; i++) {
		kg_aeskey_derive(&appinfo_keys[i][KG_ENC_AES256], kg_cfg.basic_keys.keys[i], KG_ENC_AES256);
		kg_aeskey_derive(&appinfo_keys[i][KG_ENC_AES128], kg_cfg.basic_keys.keys[i], KG_ENC_AES128);
	}
}

int kg_main(const struct kg_program *prog)
{
	static struct kg_ctx c;
	FCGX_Request f;
	char err[512];
	unsigned long served = 0;
	unsigned processes;
	sigset_t term, waiting_mask;

	/* Start-up order: log, configuration, derived keys, the listening
	 * socket, the workers (listen.h), FastCGI, then each worker's database
	 * connection (again at a request whenever it is lost). */
	kg_log_init(prog->name);
	signal(SIGPIPE, SIG_IGN);
	if (!kg_config_load(NULL, err, sizeof err)) {
		kg_log("configuration error: %s", err);
		return 1;
	}
	/* Servers that do not keep the programs' stderr (lighttpd) get a file. */
	if (*kg_cfg.log_file && !kg_log_open(kg_cfg.log_file)) {
		kg_log("configuration error: log_file %s cannot be opened", kg_cfg.log_file);
		return 1;
	}
	kg_log("starting, koogate %s", KG_VERSION);
	if (prog->family == KG_SCHEME_KIT && kg_cfg.kit_keys.n == 0) {
		kg_log("configuration error: kit_keys is empty; %s needs the Kit access key", prog->name);
		return 1;
	}
	if (prog->needs_master_key && !kg_cfg.has_master_key) {
		kg_log("configuration error: master_key is not set; %s stores secrets", prog->name);
		return 1;
	}
	if (prog->needs_rsa_key && !kg_rsa_load(kg_cfg.rsa_private_key, err, sizeof err)) {
		kg_log("configuration error: rsa_private_key: %s", err);
		return 1;
	}
	if (prog->config_problem && prog->config_problem())
		kg_log("configuration problem: %s; until it is fixed buyers get an error page with a reference id",
		       prog->config_problem());
	derive_keys();
	/* What this program never uses is not kept where a bug could read it. */
	kg_config_drop_secrets(prog->needs_master_key, prog->needs_apig);
	kg_nonce_init(prog);
	kg_db_notify_later = true;
	processes = kg_processes_wanted();
	if (processes == 0) {
		kg_log("configuration error: KOOGATE_PROCESSES must be a number from 1 to %d", KG_MAX_PROCESSES);
		return 1;
	}
	/* Run by hand, it has checked its configuration and has nothing to serve. */
	if (!kg_listen_adopt(err, sizeof err)) {
		kg_log("not serving: %s", err);
		return 0;
	}
	/* Everything above is done once; the workers share it. */
	kg_supervise(prog->name, processes);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&f, 0, 0) != 0) {
		kg_log("cannot initialise FastCGI");
		return 1;
	}
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGHUP);
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_term }, NULL);
	sigaction(SIGHUP, &(struct sigaction){ .sa_handler = on_hup }, NULL);
	sigprocmask(SIG_BLOCK, &term, &waiting_mask);
	sigdelset(&waiting_mask, SIGTERM);
	sigdelset(&waiting_mask, SIGHUP);
	/* Connected before the first request, not by it: a process started
	 * ahead of need (socket unit, lighttpd) spares the first call of a burst
	 * the connection set-up. If the database is not there yet, the first
	 * request that needs it tries again. */
	(void)kg_db_ready();
	while (next_request(&f, &waiting_mask)) {
		char method[16], remote[64];
		double ms;

		c = (struct kg_ctx){ .prog = prog, .req = c.req, .key_index = -1, .t0 = kg_mono_ms() };
		switch (kg_req_read(&c.req, &f, kg_cfg.body_limit)) {
		case KG_READ_TOO_LARGE:
			kg_fault(&c, 413, KG_V_TOO_LARGE);
			break;
		case KG_READ_BAD_LENGTH:
			kg_fault(&c, 400, KG_V_BAD_LENGTH);
			break;
		case KG_READ_OK:
			prog->serve(&c);
			if (!c.req.responded) {
				c.verdict = KG_V_NO_ANSWER;
				kg_reply(&c, KG_EINTERNAL, NULL, NULL);
			}
			break;
		}
		(void)kg_nonce_settled(&c);   /* a claim no statement carried is still recorded */
		kg_db_rollback();       /* never carry an open transaction over */
		ms = kg_mono_ms() - c.t0;
		/* The FastCGI environment is freed by Finish: keep what the log needs. */
		snprintf(method, sizeof method, "%s", c.req.method);
		snprintf(remote, sizeof remote, "%s", c.req.remote_addr);
		c.req.method = method;
		c.req.remote_addr = remote;
		c.req.path_info = c.req.query = "";
		FCGX_Finish_r(&f);
		/* After the answer is out: log line, audit row, housekeeping. */
		kg_log("%s %s activity=%s status=%d result=%s verdict=%s sig=%s ms=%.1f instance=%s order=%s%s%s",
		       c.req.method, prog->name, c.activity ? c.activity : "-", c.req.status,
		       c.req.status == 200 ? kg_result_code(c.result) : "-",
		       kg_verdict_name(c.verdict), kg_sigform_name(c.form), ms,
		       c.instance_id[0] ? c.instance_id : "-", c.order_id[0] ? c.order_id : "-",
		       c.req.probe[0] ? " probe=" : "", c.req.probe);
		kg_audit_add(&c, ms);
		/* The NOTIFY of an event just written (sql/010) travels with the
		 * next bookkeeping call: the next request's claim, or the idle
		 * flush KG_AUDIT_IDLE_MS later. Not a round trip of its own. */
		if (c.follow_up && prog->follow_up)
			prog->follow_up(&c);
		if (++served % 256 == 0 && kg_db_ready()) {
			char days[16];
			const char *p[1] = { days };

			snprintf(days, sizeof days, "%d", kg_cfg.call_retention_days);
			(void)kg_db_run(NULL, &q_prune, p);
		}
		release_request(&c);
	}
	kg_audit_flush(false);
	kg_db_close();
	return 0;
}
