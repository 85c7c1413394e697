#include "app.h"
#include "canon.h"
#include "ck.h"
#include "codec.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "response.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/select.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NONCE_MAX 128
#define JSON_MAX_DEPTH KG_CANON_MAX_DEPTH

static struct kg_aeskey appinfo_keys[KG_MAX_KEYS][3];

/* The nonce claim, with the audit rows of earlier calls (sql/010). It runs
 * as the database prelude: with the handler's first statement, or alone.
 * $5, the signed timestamp, lets the claim refuse what a database crash may
 * have made it forget (sql/012). */
static struct kg_stmt q_book = KG_BOOKKEEPING_STMT(bookkeeping, 5,
	"SELECT koogate_bookkeeping($1, $2, $3::int, $4::json, $5::bigint)");
/* Housekeeping, now and then after an answer: expired nonces, used or
 * expired login states, ended sessions, inbound calls past their retention;
 * a bounded amount each time (sql/013). */
static struct kg_stmt q_prune = KG_BOOKKEEPING_STMT(prune_expired, 1, "SELECT koogate_prune($1::int)");

/* Audit rows wait here (a JSON array) for the next nonce claim, or until the
 * process is idle, or until there are too many or they are too old. */
#define CALLS_MAX      64
#define CALLS_MAX_AGE  1000.0   /* ms */
#define CALLS_IDLE_MS  50       /* no new request this long: write them */
static struct {
	struct kbuf json;       /* "[{...},{...}", closed with "]" while a call carries them */
	unsigned    n;
	double      oldest_ms;
} calls;
/* The claim's parameters: family and TTL are set once per process; the nonce
 * is the request's own copy, since the prelude runs after auth returns. */
static struct {
	const char *params[5];
	char        ttl[16];
	char        nonce[NONCE_MAX + 1];
	char        ts[24];
} claim;


static const struct kg_keyring *family_keys(const struct kg_ctx *c)
{
	return c->prog->family == KG_SCHEME_KIT ? &kg_cfg.kit_keys : &kg_cfg.basic_keys;
}

static bool nonce_settled(struct kg_ctx *c);

void kg_reply(struct kg_ctx *c, enum kg_result res, const char *msg, json_object *extra)
{
	const struct kg_keyring *ring = family_keys(c);
	const char *key = c->key_index >= 0 ? ring->keys[c->key_index] : ring->n ? ring->keys[0] : NULL;

	if (!nonce_settled(c)) {
		res = strcmp(c->verdict, "replay") == 0 ? KG_EAUTH : KG_EINTERNAL;
		msg = NULL;
	}
	if (res != KG_OK)
		c->follow_up = false;
	c->result = res;
	if (res != KG_OK && (!c->verdict || strcmp(c->verdict, "ok") == 0))
		c->verdict = "refused";
	kg_respond_result(&c->req, key, res, msg, res == KG_OK ? extra : NULL);
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

static bool refuse(struct kg_ctx *c, enum kg_result res, const char *verdict, const char *why)
{
	c->verdict = verdict;
	kg_log("refused: %s", why);
	kg_reply(c, res, NULL, NULL);
	return false;
}

/* Freshness (D2): |now - ts| within the window, ts in epoch milliseconds. */
static bool fresh_ms(const char *ts, int window_s, bool *parsed)
{
	int64_t t;

	*parsed = ck_parse_i64(ts, &t);
	if (!*parsed)
		return false;
	double d = kg_now_ms() - (double)t;
	return d <= window_s * 1000.0 && d >= -window_s * 1000.0;
}

static bool calls_closed(void)
{
	return calls.json.len && calls.json.p[calls.json.len - 1] == ']';
}

/* The queued rows as a JSON array, or NULL when there are none. */
static const char *calls_array(void)
{
	if (!calls.n)
		return NULL;
	if (!calls_closed())
		kbuf_putc(&calls.json, ']');
	return calls.json.p;
}

static void calls_written(void)
{
	kbuf_reset(&calls.json);
	calls.n = 0;
}

/* The claim is sent with the handler's first statement (db.c's prelude);
 * nonce_settled() reads its outcome before any answer goes out. */
static void claim_nonce(const char *nonce, const char *ts)
{
	snprintf(claim.nonce, sizeof claim.nonce, "%s", nonce);
	snprintf(claim.ts, sizeof claim.ts, "%s", ts);
	claim.params[3] = calls_array();
	kg_db_prelude(&q_book, claim.params);
}

static void claim_init(const struct kg_program *prog)
{
	claim.params[0] = prog->family == KG_SCHEME_KIT ? "kit" : "basic";   /* one nonce store per family */
	claim.params[1] = claim.nonce;
	claim.params[2] = claim.ttl;
	claim.params[4] = claim.ts;
	snprintf(claim.ttl, sizeof claim.ttl, "%d", kg_cfg.nonce_ttl > 2 * kg_cfg.v2_window ?
	         kg_cfg.nonce_ttl : 2 * kg_cfg.v2_window);
}

/* False, with the verdict set and logged, when the request's nonce was
 * already used or could not be checked. */
static bool nonce_settled(struct kg_ctx *c)
{
	enum kg_prelude o = kg_db_prelude_settle();
	const char *verdict = o == KG_PRELUDE_FALSE ? "replay" : "db-error";

	if (o != KG_PRELUDE_FAILED && calls_closed())
		calls_written();
	if (o == KG_PRELUDE_NONE || o == KG_PRELUDE_TRUE)
		return true;
	if (!c->verdict || strcmp(c->verdict, verdict) != 0) {   /* say it once */
		c->verdict = verdict;
		kg_log("refused: %s", o == KG_PRELUDE_FALSE ? "nonce already used"
		                                            : "database unavailable for the nonce check");
	}
	return false;
}

/* The body as a JSON object for the handlers (after canonicalisation has
 * proven it well-formed, so a failure here is unexpected). */
static bool parse_body(struct kg_ctx *c)
{
	json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	bool ok;

	c->json = json_tokener_parse_ex(tok, c->req.body.p, (int)c->req.body.len);
	ok = json_tokener_get_error(tok) == json_tokener_success &&
	     json_object_is_type(c->json, json_type_object);
	json_tokener_free(tok);
	return ok ? true : refuse(c, KG_EPARAM, "bad-json", "body is not a JSON object");
}

static const char *canon_error(enum kg_canon_err ce)
{
	return ce == KG_CANON_NOT_OBJECT ? "body is not a JSON object" :
	       ce == KG_CANON_DEPTH ? "body nested too deeply" :
	       ce == KG_CANON_UTF8 ? "body is not valid UTF-8" : "body is not valid JSON";
}

/* Shared by the basic and Kit V2 schemes: freshness, body, signature, nonce. */
static bool auth_v2(struct kg_ctx *c, enum kg_scheme scheme, const char *sig,
                    const char *ts, const char *nonce)
{
	struct kbuf canon = { 0 };
	enum kg_canon_err ce;
	bool parsed;
	int k;

	if (!ts || !*ts)
		return refuse(c, KG_EPARAM, "bad-request", "timestamp missing");
	if (!nonce || !*nonce)
		return refuse(c, KG_EPARAM, "bad-request", "nonce missing");
	if (strlen(nonce) > NONCE_MAX)
		return refuse(c, KG_EPARAM, "bad-request", "nonce too long");
	if (!sig || !*sig)
		return refuse(c, KG_EAUTH, "bad-signature", "signature missing");
	if (!fresh_ms(ts, kg_cfg.v2_window, &parsed))
		return parsed ? refuse(c, KG_EAUTH, "stale", "timestamp outside the window")
		              : refuse(c, KG_EPARAM, "bad-request", "timestamp is not a number");
	ce = kg_canon_json(c->req.body.p, c->req.body.len, &canon);
	if (ce != KG_CANON_OK) {
		kbuf_free(&canon);
		return refuse(c, KG_EPARAM, "bad-json", canon_error(ce));
	}
	k = kg_verify_v2(scheme, family_keys(c), nonce, ts, sig, canon.p, canon.len,
	                 c->req.body.p, c->req.body.len, &c->form);
	kbuf_free(&canon);
	if (k < 0)
		return refuse(c, KG_EAUTH, "bad-signature", "signature does not verify");
	c->key_index = k;
	if (!parse_body(c))
		return false;
	claim_nonce(nonce, ts);
	return true;
}

bool kg_auth_v2_basic(struct kg_ctx *c)
{
	struct kg_params q = { 0 };
	bool ok;

	if (!kg_params_parse(&q, c->req.query, strlen(c->req.query), KG_URL_FORM)) {
		kg_params_free(&q);
		return refuse(c, KG_EPARAM, "bad-request", "query string is malformed");
	}
	ok = auth_v2(c, KG_SCHEME_BASIC, kg_params_get(&q, "signature"),
	             kg_params_get(&q, "timestamp"), kg_params_get(&q, "nonce"));
	kg_params_free(&q);
	return ok;
}

/* V1 timeStamp, UTC yyyyMMddHHmmssSSS: within max_age seconds of now. */
static bool v1_fresh(const char *ts, int max_age, int utc_offset_h, bool *parsed)
{
	struct tm tm = { 0 };
	time_t t;
	double d;

	*parsed = ck_digits(ts, 17) &&
	          sscanf(ts, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6;
	if (!*parsed)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) - utc_offset_h * 3600;
	d = kg_now_ms() / 1000.0 - (double)t;
	return d <= max_age && d >= -max_age;
}

bool kg_auth_v1_basic(struct kg_ctx *c)
{
	static const enum kg_urldecode modes[] = { KG_URL_FORM, KG_URL_PERCENT };
	struct kbuf joined = { 0 }, token = { 0 };
	const char *ts, *tok;
	bool parsed;
	int k = -1;

	for (size_t m = 0; m < 2 && k < 0; m++) {
		struct kg_params ps = { 0 };

		if (!kg_params_parse(&ps, c->req.query, strlen(c->req.query), modes[m])) {
			kg_params_free(&ps);
			if (m == 0)
				return refuse(c, KG_EPARAM, "bad-request", "query string is malformed");
			continue;
		}
		ts = kg_params_get(&ps, "timeStamp");
		tok = kg_params_get(&ps, "authToken");
		if (m == 0) {
			if (!ts || !*ts) {
				kg_params_free(&ps);
				return refuse(c, KG_EPARAM, "bad-request", "timeStamp missing");
			}
			if (!tok || !*tok) {
				kg_params_free(&ps);
				return refuse(c, KG_EAUTH, "bad-signature", "authToken missing");
			}
			if (kg_cfg.v1_max_age > 0 && !v1_fresh(ts, kg_cfg.v1_max_age, 0, &parsed)) {
				kg_params_free(&ps);
				return parsed ? refuse(c, KG_EAUTH, "stale", "timeStamp too old")
				              : refuse(c, KG_EPARAM, "bad-request", "timeStamp malformed");
			}
		}
		if (!ts || !tok) {
			kg_params_free(&ps);
			continue;
		}
		kbuf_reset(&joined);
		kbuf_reset(&token);
		kg_v1_joined(&ps, &joined);
		/* Base64 has no spaces: a form decoder turned unencoded '+' into ' '. */
		kbuf_puts(&token, tok);
		for (size_t i = 0; i < token.len; i++)
			if (token.p[i] == ' ')
				token.p[i] = '+';
		k = kg_verify_v1(family_keys(c), ts, joined.p ? joined.p : "", joined.len, token.p);
		if (k >= 0) {
			c->form = m == 0 ? KG_SIGFORM_CANONICAL : KG_SIGFORM_PERCENT;
			c->params = ps;     /* the handler reads the form-decoded values */
		} else {
			kg_params_free(&ps);
		}
	}
	kbuf_free(&joined);
	kbuf_free(&token);
	if (k < 0)
		return refuse(c, KG_EAUTH, "bad-signature", "authToken does not verify");
	c->key_index = k;
	return true;
}

bool kg_auth_kit_v2(struct kg_ctx *c)
{
	return auth_v2(c, KG_SCHEME_KIT, kg_req_header(&c->req, "x-sign"),
	               kg_req_header(&c->req, "x-timestamp"), kg_req_header(&c->req, "x-nonce"));
}

bool kg_auth_kit_v1(struct kg_ctx *c)
{
	static const struct { enum kg_kv_variant v; enum kg_sigform form; } variants[] = {
		{ KG_KV_SORTED, KG_SIGFORM_CANONICAL },
		{ KG_KV_SORTED_FORMDECODED, KG_SIGFORM_FORMDECODED },
		{ KG_KV_RECEIVED, KG_SIGFORM_RECEIVED },
	};
	const char *token = kg_req_header(&c->req, "authToken"), *ts;
	json_object *tsj = NULL;
	enum kg_canon_err ce;
	struct kbuf kv = { 0 }, tok = { 0 };
	bool parsed;
	int k = -1;

	ce = kg_canon_kv(c->req.body.p, c->req.body.len, KG_KV_SORTED, &kv);
	kbuf_free(&kv);
	if (ce != KG_CANON_OK)
		return refuse(c, KG_EPARAM, "bad-json", canon_error(ce));
	if (!parse_body(c))
		return false;
	if (!json_object_object_get_ex(c->json, "timeStamp", &tsj) || !tsj ||
	    !*(ts = json_object_get_string(tsj)))
		return refuse(c, KG_EPARAM, "bad-request", "timeStamp missing");
	if (!token || !*token)
		return refuse(c, KG_EAUTH, "bad-signature", "authToken missing");
	/* V1 Kit timeStamp is China time, UTC+8 (D5). */
	if (kg_cfg.v1_max_age > 0 && !v1_fresh(ts, kg_cfg.v1_max_age, 8, &parsed))
		return parsed ? refuse(c, KG_EAUTH, "stale", "timeStamp too old")
		              : refuse(c, KG_EPARAM, "bad-request", "timeStamp malformed");
	kbuf_puts(&tok, token);
	for (size_t i = 0; i < tok.len; i++)
		if (tok.p[i] == ' ')
			tok.p[i] = '+';
	for (size_t v = 0; v < sizeof variants / sizeof *variants && k < 0; v++) {
		kbuf_reset(&kv);
		if (kg_canon_kv(c->req.body.p, c->req.body.len, variants[v].v, &kv) != KG_CANON_OK)
			continue;
		k = kg_verify_v1(family_keys(c), ts, kv.p ? kv.p : "", kv.len, tok.p);
		if (k >= 0)
			c->form = variants[v].form;
	}
	kbuf_free(&kv);
	kbuf_free(&tok);
	if (k < 0)
		return refuse(c, KG_EAUTH, "bad-signature", "authToken does not verify");
	c->key_index = k;
	return true;
}

/* Non-UTF-8 bytes (a truncated or hostile id) become '?': the row must be valid JSON text. */
static void put_call_field(const char *name, const char *v)
{
	struct kbuf *b = &calls.json;
	size_t n;

	kbuf_printf(b, ",\"%s\":", name);
	if (!v) {
		kbuf_puts(b, "null");
		return;
	}
	n = strlen(v);
	if (kg_utf8_valid(v, n)) {
		kbuf_put_jstr(b, v, n);
		return;
	}
	char clean[256];

	n = n < sizeof clean ? n : sizeof clean - 1;
	for (size_t i = 0; i < n; i++)
		clean[i] = (unsigned char)v[i] >= 0x80 ? '?' : v[i];
	kbuf_put_jstr(b, clean, n);
}

/* Writes the queued audit rows on their own (no request to carry them);
 * always: even with none, for the NOTIFY of events just written. */
static void calls_flush(bool always)
{
	const char *p[5] = { NULL, NULL, NULL, calls_array(), NULL };
	PGresult *res;

	if (!p[3] && !always)
		return;
	if ((res = kg_db_exec(&q_book, p))) {
		PQclear(res);
		calls_written();
	} else if (calls.n >= 4 * CALLS_MAX) {
		kg_log("audit: %u rows could not be written and are dropped", calls.n);
		calls_written();
	}
}

/* This call's audit row joins the queue; a full or old queue is written now. */
static void audit(struct kg_ctx *c, double ms)
{
	struct kbuf *b = &calls.json;

	if (calls_closed())     /* a call that failed carried them: reopen */
		b->p[--b->len] = '\0';
	if (!calls.n) {
		kbuf_reset(b);
		kbuf_putc(b, '[');
		calls.oldest_ms = kg_mono_ms();
	} else {
		kbuf_putc(b, ',');
	}
	kbuf_printf(b, "{\"at\":%.3f,\"http_status\":%d,\"duration_ms\":%.3f",
	            kg_now_ms() / 1e3, c->req.status, ms);
	put_call_field("program", c->prog->name);
	put_call_field("activity", c->activity);
	put_call_field("verdict", c->verdict ? c->verdict : "ok");
	put_call_field("result_code", c->req.status == 200 ? kg_result_code(c->result) : NULL);
	put_call_field("instance_id", c->instance_id[0] ? c->instance_id : NULL);
	put_call_field("order_id", c->order_id[0] ? c->order_id : NULL);
	put_call_field("remote_addr", c->req.remote_addr);
	kbuf_putc(b, '}');
	if (++calls.n >= CALLS_MAX || kg_mono_ms() - calls.oldest_ms >= CALLS_MAX_AGE)
		calls_flush(false);
}

/* Memory a request leaves free stays resident (glibc raises its trim threshold
 * once large blocks have been freed). The parsed body goes when the request is
 * done, the body buffer too once it has grown past KEEP_BODY_CAP (it is kept for
 * the next request otherwise), and the free heap pages go back to the system when
 * the process is next idle (CALLS_IDLE_MS without a request), so that a busy
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

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Waits for the next request. Queued audit rows are written when none comes
 * within CALLS_IDLE_MS (after a failed write, they wait for the next request).
 * SIGTERM is blocked while a request is served and taken only here, so the
 * process ends between requests with its rows written. */
static bool next_request(FCGX_Request *f, const sigset_t *waiting_mask)
{
	bool retry = true;

	for (;;) {
		struct timespec idle = { 0, CALLS_IDLE_MS * 1000000L };
		fd_set in;
		int n;

		if (stopping) {
			calls_flush(false);
			return false;
		}
		FD_ZERO(&in);
		FD_SET(0, &in);         /* the FastCGI listening socket */
		n = pselect(1, &in, NULL, NULL, (calls.n && retry) || trim_pending ? &idle : NULL,
		            waiting_mask);
		if (n > 0 || (n < 0 && errno != EINTR))
			break;
		if (n == 0 && trim_pending) {
			malloc_trim(0);
			trim_pending = false;
		}
		if (n == 0 && calls.n && retry) {
			calls_flush(false);
			retry = calls.n == 0;
		}
	}
	return FCGX_Accept_r(f) >= 0;
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
	sigset_t term, waiting_mask;

	/* Start-up order: log, configuration, derived keys, FastCGI; the
	 * database connects lazily on the first request that needs it. */
	kg_log_init(prog->name);
	signal(SIGPIPE, SIG_IGN);
	if (!kg_config_load(NULL, err, sizeof err)) {
		kg_log("configuration error: %s", err);
		return 1;
	}
	/* Servers that do not keep the programs' stderr (lighttpd) get a file. */
	if (*kg_cfg.log_file) {
		int fd = open(kg_cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

		if (fd < 0 || dup2(fd, 2) < 0) {
			kg_log("configuration error: log_file %s cannot be opened", kg_cfg.log_file);
			return 1;
		}
		close(fd);
	}
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
	derive_keys();
	/* What this program never uses is not kept where a bug could read it. */
	kg_config_drop_secrets(prog->needs_master_key, prog->needs_apig);
	claim_init(prog);
	kg_db_notify_later = true;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&f, 0, 0) != 0) {
		kg_log("cannot initialise FastCGI");
		return 1;
	}
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_term }, NULL);
	sigprocmask(SIG_BLOCK, &term, &waiting_mask);
	sigdelset(&waiting_mask, SIGTERM);
	while (next_request(&f, &waiting_mask)) {
		char method[16], remote[64];
		double ms;

		c = (struct kg_ctx){ .prog = prog, .req = c.req, .key_index = -1, .t0 = kg_mono_ms() };
		switch (kg_req_read(&c.req, &f, kg_cfg.body_limit)) {
		case KG_READ_TOO_LARGE:
			c.verdict = "too-large";
			kg_respond_status(&c.req, 413);
			break;
		case KG_READ_BAD_LENGTH:
			c.verdict = "bad-length";
			kg_respond_status(&c.req, 400);
			break;
		case KG_READ_OK:
			prog->serve(&c);
			if (!c.req.responded) {
				c.verdict = "no-answer";
				kg_reply(&c, KG_EINTERNAL, NULL, NULL);
			}
			break;
		}
		(void)nonce_settled(&c);   /* a claim no statement carried is still recorded */
		kg_db_prelude_reset();
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
		kg_log("%s %s activity=%s status=%d result=%s verdict=%s sig=%s ms=%.1f instance=%s order=%s",
		       c.req.method, prog->name, c.activity ? c.activity : "-", c.req.status,
		       c.req.status == 200 ? kg_result_code(c.result) : "-",
		       c.verdict ? c.verdict : "ok", kg_sigform_name(c.form), ms,
		       c.instance_id[0] ? c.instance_id : "-", c.order_id[0] ? c.order_id : "-");
		audit(&c, ms);
		/* Now, not later: the call sends the NOTIFY of any event just written (sql/010). */
		if (kg_db_wrote())
			calls_flush(true);
		if (c.follow_up && prog->follow_up) {
			prog->follow_up(&c);
			if (kg_db_wrote())
				calls_flush(true);
		}
		if (++served % 256 == 0 && kg_db_ready()) {
			char days[16];
			const char *p[1] = { days };

			snprintf(days, sizeof days, "%d", kg_cfg.call_retention_days);
			(void)kg_db_run(&q_prune, p);
		}
		release_request(&c);
	}
	calls_flush(false);
	kg_db_close();
	return 0;
}
