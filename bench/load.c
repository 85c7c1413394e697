/* SPDX-License-Identifier: ISC */
/* bench/load.c — a small HTTP/1.1 load generator for koogate benchmarks.
 *
 * One thread, epoll, N keep-alive connections to 127.0.0.1. Every request is
 * signed when it is sent, with its own nonce and the current timestamp, so
 * koogate's replay protection stays on (security.md §2, §3; the signing is
 * koogate's own, from build/libkoogate.a).
 *
 *   load --url http://127.0.0.1:PORT --kind KIND [options]
 *
 * Kinds:
 *   hello      GET /hello (the hello-world FastCGI ceiling)
 *   query      V2 queryInstance of --ids-per-req ids out of PREFIX0000000..PREFIX(N-1)
 *   new        V2 newInstance with a new orderId (and businessId) per request
 *   authsync   Kit V2 authSync of --users users, new user names per request (insert path)
 *   login      GET /koogate/callback?code=C&tenant=T, one code per request from --codes FILE
 *
 * Modes: closed loop (default: each connection sends its next request as soon as
 * the previous answer is in) or open loop (--rate R: requests are due at fixed
 * intervals whatever the answers do; latency is measured from the due time, so
 * queueing in front of a slow server is counted — no coordinated omission).
 *
 * Output: a human summary on stderr and one JSON object on stdout:
 *   requests (completed inside the measured window), rps, p50/p90/p99/max and mean
 *   latency in µs (log-linear histogram, < 1 % bucket error; max exact),
 *   http_errors (unexpected HTTP status), result_errors (HTTP 200 but resultCode
 *   not 000000; for login: 302 without a session cookie), io_errors (connect,
 *   reset, timeout, a connection closed before the answer: such a request is not
 *   resent, its nonce may be spent), reconnects, and "cpu": the load generator's own
 *   CPU seconds and, with --cpu-var DIR, those of the stack's processes and of the
 *   machine, over exactly the measured window (see cpu_snapshot).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sign.h"

/* ------------------------------------------------------------------ options */
enum kind { K_HELLO, K_QUERY, K_NEW, K_AUTHSYNC, K_LOGIN };
static const char *const kind_names[] = { "hello", "query", "new", "authsync", "login" };

static struct {
	char        host[64];
	int         port;
	enum kind   kind;
	int         conns;
	double      duration;      /* seconds; 0 = until --requests */
	long        requests;      /* 0 = until --duration */
	double      rate;          /* req/s; 0 = closed loop */
	double      warmup;        /* seconds of load before measuring */
	const char *basic_key, *kit_key;
	const char *ids_prefix;
	long        ids_count;
	int         ids_per_req;
	int         users;
	const char *tenant, *app, *instance;
	const char *codes_file;
	const char *label;
	const char *cpu_var;       /* stack directory whose processes' CPU is reported */
	const char *cpu_pids;      /* more pids (comma-separated) reported as "fakes" */
	double      timeout;       /* seconds per request */
	bool        verbose;
} opt = {
	.host = "127.0.0.1", .port = 80, .kind = K_HELLO, .conns = 16, .ids_prefix = "bench-",
	.ids_count = 1000, .ids_per_req = 1, .users = 10, .tenant = "bench-tenant", .app = "bench-app",
	.instance = "bench-0000000", .label = "", .timeout = 30,
};

static void usage(void)
{
	fprintf(stderr,
	    "usage: load --url http://127.0.0.1:PORT --kind hello|query|new|authsync|login\n"
	    "            [--conns N] [--duration S | --requests N] [--rate R] [--warmup S]\n"
	    "            [--basic-key K] [--kit-key K]   (default: $KOOGATE_BASIC_KEY, $KOOGATE_KIT_KEY)\n"
	    "            [--ids-prefix P] [--ids-count N] [--ids-per-req K]        (query)\n"
	    "            [--users N] [--tenant T] [--app A] [--instance I]        (authsync)\n"
	    "            [--codes FILE] [--tenant T]                               (login)\n"
	    "            [--label L] [--timeout S] [--cpu-var DIR [--cpu-pids P,P]] [-v]\n");
	exit(2);
}

/* ------------------------------------------------------------------ time, random */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_state[2];

static uint64_t rnd(void)   /* xorshift128+ */
{
	uint64_t s1 = rng_state[0];
	const uint64_t s0 = rng_state[1];

	rng_state[0] = s0;
	s1 ^= s1 << 23;
	rng_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return rng_state[1] + s0;
}

/* ------------------------------------------------------------------ histogram */
/* Log-linear: values below 256 µs exact, then 128 sub-buckets per power of two
 * (relative error < 0.8 %), up to 2^40 µs. */
#define SUB 128
#define HBUCKETS (256 + 33 * SUB)

struct hist {
	uint64_t b[HBUCKETS];
	uint64_t n, max;
	double   sum;
};

static int hidx(uint64_t v)
{
	int e;

	if (v < 256)
		return (int)v;
	e = 63 - __builtin_clzll(v) - 7;            /* v >> e in [128, 255] */
	if (e > 33)
		return HBUCKETS - 1;
	return 256 + (e - 1) * SUB + (int)((v >> e) - SUB);
}

static uint64_t hupper(int i)    /* highest value that lands in bucket i */
{
	int e;

	if (i < 256)
		return (uint64_t)i;
	e = (i - 256) / SUB + 1;
	return (((uint64_t)((i - 256) % SUB + SUB) + 1) << e) - 1;
}

static void hrec(struct hist *h, uint64_t us)
{
	h->b[hidx(us)]++;
	h->n++;
	h->sum += (double)us;
	if (us > h->max)
		h->max = us;
}

static uint64_t hpct(const struct hist *h, double p)
{
	uint64_t want, acc = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (want < 1)
		want = 1;
	for (int i = 0; i < HBUCKETS; i++) {
		acc += h->b[i];
		if (acc >= want)
			return hupper(i) < h->max ? hupper(i) : h->max;
	}
	return h->max;
}

/* ------------------------------------------------------------------ requests */
static char run_tag[9];          /* random per run: orderIds and user names never repeat */
static uint64_t seq;             /* requests generated so far */
static char **codes;
static long ncodes, next_code;

static void fresh_nonce_ts(char nonce[33], char ts[24])
{
	struct timespec t;

	snprintf(nonce, 33, "%016" PRIx64 "%016" PRIx64, rnd(), rnd());
	clock_gettime(CLOCK_REALTIME, &t);
	snprintf(ts, 24, "%lld", (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

static void post_v2(struct kbuf *out, const struct kbuf *body)
{
	char nonce[33], ts[24], sig[65];

	fresh_nonce_ts(nonce, ts);
	/* the body is compact with sorted top-level keys: it is its canonical form */
	kg_sign_v2_basic(opt.basic_key, nonce, ts, body->p, body->len, sig);
	kbuf_printf(out, "POST /saasproduce?signature=%s&timestamp=%s&nonce=%s HTTP/1.1\r\n"
	        "Host: %s:%d\r\nUser-Agent: koogate-bench\r\n"
	        "Content-Type: application/json;charset=utf8\r\nContent-Length: %zu\r\n\r\n",
	        sig, ts, nonce, opt.host, opt.port, body->len);
	kbuf_put(out, body->p, body->len);
}

/* Returns false when no request can be made (login codes exhausted). */
static bool make_request(struct kbuf *out)
{
	static struct kbuf body;
	uint64_t n = seq++;

	kbuf_reset(out);
	kbuf_reset(&body);
	switch (opt.kind) {
	case K_HELLO:
		kbuf_printf(out, "GET /hello HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: koogate-bench\r\n\r\n",
		        opt.host, opt.port);
		return true;
	case K_QUERY: {
		long start = (long)(rnd() % (uint64_t)opt.ids_count);

		kbuf_puts(&body, "{\"activity\":\"queryInstance\",\"instanceId\":\"");
		for (int i = 0; i < opt.ids_per_req; i++)
			kbuf_printf(&body, "%s%s%07ld", i ? "," : "", opt.ids_prefix, (start + i) % opt.ids_count);
		kbuf_puts(&body, "\",\"testFlag\":\"0\"}");
		post_v2(out, &body);
		return true;
	}
	case K_NEW: {
		uint64_t a = rnd(), b = rnd();

		kbuf_printf(&body, "{\"activity\":\"newInstance\","
		        "\"businessId\":\"%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-8%03" PRIx64 "-%012" PRIx64 "\","
		        "\"orderId\":\"CSB%s%010" PRIu64 "\",\"orderLineId\":\"CSB%s%010" PRIu64 "-000001\","
		        "\"testFlag\":\"0\"}",
		        a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 52, b & (uint64_t)0xffffffffffff,
		        run_tag, n, run_tag, n);
		post_v2(out, &body);
		return true;
	}
	case K_AUTHSYNC: {
		char nonce[33], ts[24], sig[65];

		kbuf_printf(&body, "{\"appId\":\"%s\",\"flag\":1,\"instanceId\":\"%s\",\"tenantId\":\"%s\","
		        "\"testFlag\":0,\"userList\":[", opt.app, opt.instance, opt.tenant);
		for (int i = 0; i < opt.users; i++)
			kbuf_printf(&body, "%s{\"userName\":\"u%s%" PRIu64 "x%d\",\"name\":\"Bench User %d\","
			        "\"orgCode\":\"10000\",\"role\":\"user\",\"enable\":\"true\","
			        "\"mobile\":\"138%08d\",\"email\":\"user%d@example.com\"}",
			        i ? "," : "", run_tag, n, i, i, i, i);
		kbuf_puts(&body, "]}");
		fresh_nonce_ts(nonce, ts);
		kg_sign_kit(opt.kit_key, nonce, ts, body.p, body.len, sig);
		kbuf_printf(out, "POST /saasproduce/produceAPI/v2/authSync HTTP/1.1\r\n"
		        "Host: %s:%d\r\nUser-Agent: koogate-bench\r\n"
		        "Content-Type: application/json;charset=utf8\r\nContent-Length: %zu\r\n"
		        "x-sign: %s\r\nx-timestamp: %s\r\nx-nonce: %s\r\n\r\n",
		        opt.host, opt.port, body.len, sig, ts, nonce);
		kbuf_put(out, body.p, body.len);
		return true;
	}
	case K_LOGIN:
		if (next_code >= ncodes)
			return false;
		kbuf_printf(out, "GET /koogate/callback?code=%s&tenant=%s HTTP/1.1\r\nHost: %s:%d\r\n"
		        "User-Agent: koogate-bench\r\n\r\n", codes[next_code++], opt.tenant, opt.host, opt.port);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ connections */
enum cstate { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };

struct conn {
	int         fd;
	enum cstate st;
	struct kbuf  w, r;
	size_t      woff;
	int64_t     t_due;        /* latency is measured from here */
	int64_t     t_sent;
	bool        pending;      /* a request is waiting for the connection to come up */
};

static int ep, tfd;
static struct conn *cs;
static struct sockaddr_in addr;

static struct {
	struct hist h;
	uint64_t    ok_in_window, http_errors, result_errors, io_errors, reconnects, done;
	bool        measuring;
	int64_t     t_start, t_end;
	char        first_error[400];
} st;

static void note_error(const char *what, const char *detail, size_t n)
{
	if (st.first_error[0] || !st.measuring)
		return;
	snprintf(st.first_error, sizeof st.first_error, "%s: %.*s", what, (int)(n > 300 ? 300 : n),
	         detail ? detail : "");
	for (char *p = st.first_error; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '"' || *p == '\\')
			*p = ' ';
}

static void ep_mod(struct conn *c, uint32_t ev, int op)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &e) < 0 && op != EPOLL_CTL_DEL) {
		perror("epoll_ctl");
		exit(1);
	}
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = C_DOWN;
	c->r.len = 0;
}

static bool conn_open(struct conn *c)
{
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->r.len = 0;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
		c->st = C_IDLE;
		ep_mod(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
		return true;
	}
	if (errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->st = C_DOWN;
		return false;
	}
	c->st = C_CONNECTING;
	ep_mod(c, EPOLLOUT, EPOLL_CTL_ADD);
	return true;
}

static void conn_flush(struct conn *c)
{
	while (c->woff < c->w.len) {
		ssize_t n = write(c->fd, c->w.p + c->woff, c->w.len - c->woff);

		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ep_mod(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP, EPOLL_CTL_MOD);
			return;
		}
		return;   /* an error shows up as EOF/HUP on the read side */
	}
	ep_mod(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

/* Puts the request in c->w on the wire (connecting first when needed). */
static void conn_send(struct conn *c, int64_t due)
{
	c->t_due = due;
	c->woff = 0;
	c->pending = true;
	if (c->st == C_DOWN) {
		st.reconnects++;
		if (!conn_open(c)) {
			st.io_errors++;
			note_error("connect", strerror(errno), strlen(strerror(errno)));
			c->pending = false;
			return;
		}
	}
	if (c->st == C_CONNECTING)
		return;
	c->pending = false;
	c->st = C_BUSY;
	c->t_sent = now_ns();
	conn_flush(c);
}

/* ------------------------------------------------------------------ scheduling */
static bool stopping;           /* no new requests */
static double cpu_in_window;    /* the load generator's own CPU seconds in the measured window */
static long issued;             /* requests handed to connections (after warm-up too) */
static int64_t t_begin;         /* start of load (warm-up included) */
static int64_t period_ns;       /* open loop */
static uint64_t next_due_i;     /* open loop: index of the next due request */

static int busy_count(void)
{
	int n = 0;

	for (int i = 0; i < opt.conns; i++)
		n += cs[i].st == C_BUSY || cs[i].pending;
	return n;
}

static bool limit_reached(void)
{
	return opt.requests > 0 && issued >= opt.requests;
}

static bool issue(struct conn *c, int64_t due)
{
	if (stopping || limit_reached())
		return false;
	if (!make_request(&c->w)) {
		stopping = true;
		return false;
	}
	issued++;
	conn_send(c, due);
	return true;
}

static void open_loop_dispatch(void)
{
	int64_t now = now_ns();

	while (!stopping && !limit_reached()) {
		int64_t due = t_begin + (int64_t)next_due_i * period_ns;
		struct conn *idle = NULL;

		if (due > now) {
			struct itimerspec its = { 0 };

			its.it_value.tv_sec = due / 1000000000;
			its.it_value.tv_nsec = due % 1000000000;
			timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
			return;
		}
		for (int i = 0; i < opt.conns && !idle; i++)
			if ((cs[i].st == C_IDLE || cs[i].st == C_DOWN) && !cs[i].pending)
				idle = &cs[i];
		if (!idle)
			return;   /* overdue; sent (late, with its due time) when a connection frees up */
		next_due_i++;
		issue(idle, due);
	}
}

/* ------------------------------------------------------------------ responses */
static bool header_has(const char *h, size_t hl, const char *name, const char *needle)
{
	size_t nl = strlen(name);

	for (const char *p = h; p && p < h + hl;) {
		const char *eol = memchr(p, '\n', (size_t)(h + hl - p));

		if (!eol)
			eol = h + hl;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			if (!needle)
				return true;
			for (const char *q = p + nl + 1; q + strlen(needle) <= eol; q++)
				if (strncasecmp(q, needle, strlen(needle)) == 0)
					return true;
		}
		p = eol + 1;
	}
	return false;
}

static long header_num(const char *h, size_t hl, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = h; p < h + hl;) {
		const char *eol = memchr(p, '\n', (size_t)(h + hl - p));

		if (!eol)
			eol = h + hl;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
			return strtol(p + nl + 1, NULL, 10);
		p = eol + 1;
	}
	return -1;
}

/* Decodes a chunked body in place; returns its length, or -1 while incomplete. */
static long dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long sz;
		char *crlf = memmem(b + in, n - in, "\r\n", 2);

		if (!crlf)
			return -1;
		sz = strtoul(b + in, &end, 16);
		in = (size_t)(crlf - b) + 2;
		if (sz == 0)
			return memmem(b + in, n - in, "\r\n", 2) ? (long)out : -1;
		if (in + sz + 2 > n)
			return -1;
		memmove(b + out, b + in, sz);
		out += sz;
		in += sz + 2;
	}
}

static void finish(struct conn *c, int status, const char *hdr, size_t hl, const char *body, size_t bl,
                   bool close_after)
{
	int64_t t = now_ns();
	uint64_t us = (uint64_t)((t - c->t_due) / 1000);
	bool ok;

	if (opt.kind == K_LOGIN) {
		ok = status == 302 && header_has(hdr, hl, "Set-Cookie", "kg_session=");
		if (status != 302) {
			st.http_errors += st.measuring;
			note_error("http status", hdr, hl);
		} else if (!ok) {
			st.result_errors += st.measuring;
			note_error("302 without a session", hdr, hl);
		}
	} else {
		ok = status == 200 && memmem(body, bl, "\"resultCode\":\"000000\"", 21);
		if (status != 200) {
			st.http_errors += st.measuring;
			note_error("http status", hdr, hl);
		} else if (!ok) {
			st.result_errors += st.measuring;
			note_error("resultCode", body, bl);
		}
	}
	if (st.measuring) {
		hrec(&st.h, us);
		if (t <= st.t_end || !opt.duration)
			st.ok_in_window += ok;
		st.done++;
	}
	c->r.len = 0;
	c->st = C_IDLE;
	if (close_after)
		conn_close(c);
}

/* Parses what is buffered; completes the request when the answer is whole. */
static void try_parse(struct conn *c)
{
	char *h = c->r.p, *eoh;
	size_t hl, need;
	long cl;
	int status;

	if (!h || !(eoh = memmem(h, c->r.len, "\r\n\r\n", 4)))
		return;
	hl = (size_t)(eoh - h) + 4;
	if (sscanf(h, "HTTP/1.%*d %d", &status) != 1) {
		st.io_errors += st.measuring;
		note_error("bad status line", h, hl);
		conn_close(c);
		return;
	}
	bool close_after = header_has(h, hl, "Connection", "close");
	if (header_has(h, hl, "Transfer-Encoding", "chunked")) {
		long bl = dechunk(h + hl, c->r.len - hl);

		if (bl < 0)
			return;
		finish(c, status, h, hl, h + hl, (size_t)bl, close_after);
		return;
	}
	cl = header_num(h, hl, "Content-Length");
	if (cl < 0) {
		/* no length: the body ends with the connection (not expected here) */
		return;
	}
	need = hl + (size_t)cl;
	if (c->r.len < need)
		return;
	finish(c, status, h, hl, h + hl, (size_t)cl, close_after);
}

static void on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		kbuf_reserve(&c->r, 16384);
		n = read(c->fd, c->r.p + c->r.len, c->r.cap - c->r.len - 1);
		if (n > 0) {
			c->r.len += (size_t)n;
			c->r.p[c->r.len] = '\0';
			if (c->st == C_BUSY) {
				try_parse(c);
				if (c->st != C_BUSY)
					return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF or error. A request in flight is not resent: the server may have
		 * acted on it (its nonce is spent), so it counts as an I/O error. */
		if (c->st == C_BUSY) {
			st.io_errors += st.measuring;
			note_error(c->r.len ? "connection closed mid-answer" : "connection closed without an answer",
			           c->r.p, c->r.len);
		}
		conn_close(c);
		return;
	}
}

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t l = sizeof err;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err) {
		st.io_errors += st.measuring;
		note_error("connect", strerror(err), strlen(strerror(err)));
		conn_close(c);
		c->pending = false;
		return;
	}
	c->st = C_IDLE;
	ep_mod(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
	if (c->pending) {
		c->pending = false;
		c->st = C_BUSY;
		c->t_sent = now_ns();
		conn_flush(c);
	}
}

static void check_timeouts(int64_t now)
{
	for (int i = 0; i < opt.conns; i++) {
		struct conn *c = &cs[i];

		if ((c->st == C_BUSY || c->pending) && now - c->t_due > (int64_t)(opt.timeout * 1e9)) {
			st.io_errors += st.measuring;
			note_error("timeout", "", 0);
			conn_close(c);
			c->pending = false;
		}
	}
}

/* ------------------------------------------------------------------ CPU per component */
/* With --cpu-var: CPU time (utime + stime) used inside the measured window by the processes of
 * the stack in DIR: apache (apache2 started with DIR/httpd.conf), fcgi:<program> (a program of
 * tools/stack/programs whose environment holds KOOGATE_CONFIG=DIR/koogate.conf), postgres
 * (working directory DIR/pg), fakes (--cpu-pids), and the machine as a whole from /proc/stat. Processes that exit inside the window
 * are missed; processes that start inside it count from their start. */
#define MAXCOMP 24
#define MAXPROG 32
static char programs[MAXPROG][64];   /* the first word of each line of tools/stack/programs */
static int nprograms;

static void load_programs(void)
{
	FILE *f = fopen(KG_PROGRAMS_FILE, "r");
	char line[256], name[64];

	if (!f) {
		perror(KG_PROGRAMS_FILE);
		exit(2);
	}
	while (fgets(line, sizeof line, f) && nprograms < MAXPROG)
		if (sscanf(line, " %63s", name) == 1 && name[0] != '#')
			memcpy(programs[nprograms++], name, sizeof name);
	fclose(f);
}

struct pcpu { int pid, comp; long long ticks; };
struct cpusnap {
	struct pcpu *p;
	size_t n, cap;
	long long busy, iowait, steal;   /* machine, ticks */
};
static char comp_name[MAXCOMP][80];
static int ncomp;
static struct cpusnap snap0;
static bool snap0_taken;
static double cpu_comp[MAXCOMP];
static double machine_busy, machine_iowait, machine_steal;

static int comp_index(const char *name)
{
	for (int i = 0; i < ncomp; i++)
		if (strcmp(comp_name[i], name) == 0)
			return i;
	if (ncomp == MAXCOMP)
		return MAXCOMP - 1;
	snprintf(comp_name[ncomp], sizeof comp_name[ncomp], "%s", name);
	return ncomp++;
}

static ssize_t slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = 0, r;

	if (fd < 0)
		return -1;
	while ((size_t)got < n - 1 && (r = read(fd, buf + got, n - 1 - (size_t)got)) > 0)
		got += r;
	close(fd);
	buf[got] = '\0';
	return got;
}

static bool has_token(const char *buf, size_t n, const char *tok)   /* NUL-separated list */
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i < n;) {
		size_t l = strnlen(buf + i, n - i);
		if (l == tl && memcmp(buf + i, tok, tl) == 0)
			return true;
		i += l + 1;
	}
	return false;
}

static void cpu_snapshot(struct cpusnap *s)
{
	static char env_tok[PATH_MAX + 32], httpd[PATH_MAX + 16], pgdata[PATH_MAX + 8];
	static char buf[1 << 16];
	DIR *d;
	struct dirent *e;

	s->n = 0;
	snprintf(env_tok, sizeof env_tok, "KOOGATE_CONFIG=%s/koogate.conf", opt.cpu_var);
	snprintf(httpd, sizeof httpd, "%s/httpd.conf", opt.cpu_var);
	snprintf(pgdata, sizeof pgdata, "%s/pg", opt.cpu_var);
	if (!(d = opendir("/proc")))
		return;
	while ((e = readdir(d))) {
		char path[64], comm[64], link[PATH_MAX];
		int pid, comp = -1;
		ssize_t n;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = atoi(e->d_name);
		if (pid == getpid())
			continue;
		if (opt.cpu_pids) {
			for (const char *q = opt.cpu_pids; *q; q += strcspn(q, ","), q += *q == ',')
				if (atoi(q) == pid)
					comp = comp_index("fakes");
		}
		snprintf(path, sizeof path, "/proc/%d/comm", pid);
		if (comp < 0 && slurp(path, comm, sizeof comm) > 0) {
			comm[strcspn(comm, "\n")] = '\0';
			for (int i = 0; i < nprograms && comp < 0; i++) {
				if (strcmp(comm, programs[i]))
					continue;
				snprintf(path, sizeof path, "/proc/%d/environ", pid);
				if ((n = slurp(path, buf, sizeof buf)) > 0 && has_token(buf, (size_t)n, env_tok)) {
					char name[80];
					snprintf(name, sizeof name, "fcgi:%s", comm);
					comp = comp_index(name);
				}
			}
			if (comp < 0 && strcmp(comm, "apache2") == 0) {
				snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
				if ((n = slurp(path, buf, sizeof buf)) > 0 && has_token(buf, (size_t)n, httpd))
					comp = comp_index("apache");
			} else if (comp < 0 && strcmp(comm, "postgres") == 0) {
				snprintf(path, sizeof path, "/proc/%d/cwd", pid);
				if ((n = readlink(path, link, sizeof link - 1)) > 0) {
					link[n] = '\0';
					if (strcmp(link, pgdata) == 0)
						comp = comp_index("postgres");
				}
			}
		}
		if (comp < 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		if (slurp(path, buf, sizeof buf) <= 0)
			continue;
		char *rp = strrchr(buf, ')');
		long long ut = 0, st_ = 0;
		if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st_) != 2)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->p = realloc(s->p, s->cap * sizeof *s->p);
		}
		s->p[s->n++] = (struct pcpu){ pid, comp, ut + st_ };
	}
	closedir(d);
	if (slurp("/proc/stat", buf, sizeof buf) > 0) {
		long long v[10] = { 0 };
		sscanf(buf, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4],
		       &v[5], &v[6], &v[7]);
		s->busy = v[0] + v[1] + v[2] + v[5] + v[6];   /* guest time is inside user/nice */
		s->iowait = v[4];
		s->steal = v[7];
	}
}

static void cpu_window_start(void)
{
	if (!opt.cpu_var)
		return;
	cpu_snapshot(&snap0);
	snap0_taken = true;
}

static void cpu_window_end(void)
{
	struct cpusnap s1 = { 0 };
	double tick = (double)sysconf(_SC_CLK_TCK);

	if (!snap0_taken)
		return;
	snap0_taken = false;
	cpu_snapshot(&s1);
	for (size_t i = 0; i < s1.n; i++) {
		long long before = 0;

		for (size_t j = 0; j < snap0.n; j++)
			if (snap0.p[j].pid == s1.p[i].pid) {
				before = snap0.p[j].ticks;
				break;
			}
		cpu_comp[s1.p[i].comp] += (double)(s1.p[i].ticks - before) / tick;
	}
	machine_busy = (double)(s1.busy - snap0.busy) / tick;
	machine_iowait = (double)(s1.iowait - snap0.iowait) / tick;
	machine_steal = (double)(s1.steal - snap0.steal) / tick;
	free(s1.p);
}

/* ------------------------------------------------------------------ main */
static void load_codes(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (!f) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		codes = realloc(codes, (size_t)(ncodes + 1) * sizeof *codes);
		codes[ncodes++] = strdup(line);
	}
	fclose(f);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	double cpu0 = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
		if (ARG("--url")) url = v;
		else if (ARG("--kind")) {
			int k;
			for (k = 0; k < 5 && strcmp(v, kind_names[k]); k++)
				;
			if (k == 5)
				usage();
			opt.kind = (enum kind)k;
		}
		else if (ARG("--conns")) opt.conns = atoi(v);
		else if (ARG("--duration")) opt.duration = atof(v);
		else if (ARG("--requests")) opt.requests = atol(v);
		else if (ARG("--rate")) opt.rate = atof(v);
		else if (ARG("--warmup")) opt.warmup = atof(v);
		else if (ARG("--basic-key")) opt.basic_key = v;
		else if (ARG("--kit-key")) opt.kit_key = v;
		else if (ARG("--ids-prefix")) opt.ids_prefix = v;
		else if (ARG("--ids-count")) opt.ids_count = atol(v);
		else if (ARG("--ids-per-req")) opt.ids_per_req = atoi(v);
		else if (ARG("--users")) opt.users = atoi(v);
		else if (ARG("--tenant")) opt.tenant = v;
		else if (ARG("--app")) opt.app = v;
		else if (ARG("--instance")) opt.instance = v;
		else if (ARG("--codes")) opt.codes_file = v;
		else if (ARG("--label")) opt.label = v;
		else if (ARG("--cpu-var")) opt.cpu_var = v;
		else if (ARG("--cpu-pids")) opt.cpu_pids = v;
		else if (ARG("--timeout")) opt.timeout = atof(v);
		else if (strcmp(a, "-v") == 0) opt.verbose = true;
		else usage();
#undef ARG
	}
	if (!url || sscanf(url, "http://%63[^:/]:%d", opt.host, &opt.port) != 2)
		usage();
	if (opt.cpu_var)
		load_programs();
	if (!opt.basic_key)
		opt.basic_key = getenv("KOOGATE_BASIC_KEY");
	if (!opt.kit_key)
		opt.kit_key = getenv("KOOGATE_KIT_KEY");
	if (opt.kind == K_LOGIN) {
		if (!opt.codes_file)
			usage();
		load_codes(opt.codes_file);
		if (opt.duration <= 0 && opt.requests <= 0)
			opt.requests = ncodes;
	}
	if (opt.conns < 1 || (opt.duration <= 0 && opt.requests <= 0) || opt.ids_count < 1 ||
	    opt.ids_per_req < 1 || opt.ids_per_req > opt.ids_count || opt.users < 0)
		usage();
	if ((opt.kind == K_QUERY || opt.kind == K_NEW) && !opt.basic_key) {
		fprintf(stderr, "load: the basic key is needed (--basic-key or $KOOGATE_BASIC_KEY)\n");
		return 2;
	}
	if (opt.kind == K_AUTHSYNC && !opt.kit_key) {
		fprintf(stderr, "load: the Kit key is needed (--kit-key or $KOOGATE_KIT_KEY)\n");
		return 2;
	}
	if (getrandom(rng_state, sizeof rng_state, 0) != sizeof rng_state) {
		perror("getrandom");
		return 1;
	}
	snprintf(run_tag, sizeof run_tag, "%08" PRIx64, rnd() & 0xffffffffu);
	signal(SIGPIPE, SIG_IGN);

	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) {
		fprintf(stderr, "load: --url needs a numeric IPv4 host\n");
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	{
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
		epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e);
	}
	cs = calloc((size_t)opt.conns, sizeof *cs);
	for (int i = 0; i < opt.conns; i++)
		cs[i].fd = -1;

	t_begin = now_ns();
	st.t_start = t_begin + (int64_t)(opt.warmup * 1e9);
	st.t_end = opt.duration > 0 ? st.t_start + (int64_t)(opt.duration * 1e9) : INT64_MAX;
	st.measuring = opt.warmup <= 0;
	if (st.measuring) {
		cpu0 = cpu_seconds();
		cpu_window_start();
	}
	if (opt.rate > 0) {
		period_ns = (int64_t)(1e9 / opt.rate);
		if (period_ns < 1)
			period_ns = 1;
		open_loop_dispatch();
	} else {
		for (int i = 0; i < opt.conns; i++)
			issue(&cs[i], now_ns());
	}

	int64_t last_check = now_ns(), drain_until = 0;
	for (;;) {
		struct epoll_event evs[256];
		int64_t now = now_ns();
		int n, timeout_ms = 50;

		if (!st.measuring && now >= st.t_start) {
			/* warm-up over: start counting afresh */
			memset(&st.h, 0, sizeof st.h);
			st.measuring = true;
			cpu0 = cpu_seconds();
			cpu_window_start();
		}
		if (!stopping && (now >= st.t_end || limit_reached())) {
			if (opt.duration > 0) {
				cpu_window_end();
				cpu_in_window = cpu_seconds() - cpu0;
			}
			stopping = true;
			drain_until = now + (int64_t)(opt.timeout * 1e9);
		}
		if (stopping && busy_count() == 0)
			break;
		if (stopping && drain_until && now > drain_until)
			break;
		n = epoll_wait(ep, evs, 256, timeout_ms);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				uint64_t x;
				while (read(tfd, &x, sizeof x) > 0)
					;
				continue;
			}
			if (c->st == C_CONNECTING) {
				on_connected(c);
				continue;
			}
			if (evs[i].events & EPOLLOUT && c->st == C_BUSY && c->woff < c->w.len)
				conn_flush(c);
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				on_readable(c);
		}
		now = now_ns();
		if (opt.rate > 0) {
			open_loop_dispatch();
		} else {
			for (int i = 0; i < opt.conns; i++)
				if ((cs[i].st == C_IDLE || cs[i].st == C_DOWN) && !cs[i].pending)
					issue(&cs[i], now);
		}
		if (now - last_check > 100000000) {
			check_timeouts(now);
			last_check = now;
		}
	}

	int64_t t_stop = now_ns();
	double cpu;

	if (opt.duration <= 0) {
		cpu_window_end();        /* request-count runs: the window ends with the last answer */
		cpu_in_window = cpu_seconds() - cpu0;
	}
	cpu = cpu_in_window;
	double window = opt.duration > 0 ? opt.duration : (double)(t_stop - st.t_start) / 1e9;
	double rps = window > 0 ? (double)st.ok_in_window / window : 0;
	uint64_t overdue = 0;

	if (opt.rate > 0 && opt.duration > 0) {
		/* requests that were due inside the window but never sent */
		uint64_t due_total = (uint64_t)((opt.warmup + opt.duration) * opt.rate);
		overdue = due_total > next_due_i ? due_total - next_due_i : 0;
	}
	fprintf(stderr, "%-10s %-9s %s conns=%d%s: %.1f req/s, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
	        "max %.2f ms, errors http=%" PRIu64 " result=%" PRIu64 " io=%" PRIu64 "%s%s\n",
	        opt.label, kind_names[opt.kind], opt.rate > 0 ? "open" : "closed", opt.conns,
	        opt.rate > 0 ? "" : "", rps, hpct(&st.h, 50) / 1e3, hpct(&st.h, 90) / 1e3,
	        hpct(&st.h, 99) / 1e3, st.h.max / 1e3, st.http_errors, st.result_errors, st.io_errors,
	        st.first_error[0] ? "; first: " : "", st.first_error);
	printf("{\"label\":\"%s\",\"kind\":\"%s\",\"mode\":\"%s\",\"conns\":%d,\"rate\":%.1f,"
	       "\"window_s\":%.3f,\"requests\":%" PRIu64 ",\"answered\":%" PRIu64 ",\"rps\":%.1f,"
	       "\"p50_us\":%" PRIu64 ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"max_us\":%" PRIu64 ","
	       "\"mean_us\":%.0f,\"http_errors\":%" PRIu64 ",\"result_errors\":%" PRIu64 ","
	       "\"io_errors\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"never_sent\":%" PRIu64 ","
	       "\"client_cpu_s\":%.3f,\"ids_count\":%ld,\"ids_per_req\":%d,\"users\":%d,"
	       "\"first_error\":\"%s\",\"cpu\":{",
	       opt.label, kind_names[opt.kind], opt.rate > 0 ? "open" : "closed", opt.conns, opt.rate,
	       window, st.ok_in_window, st.done, rps, hpct(&st.h, 50), hpct(&st.h, 90), hpct(&st.h, 99),
	       st.h.max, st.h.n ? st.h.sum / (double)st.h.n : 0.0, st.http_errors, st.result_errors,
	       st.io_errors, st.reconnects, overdue, cpu, opt.ids_count, opt.ids_per_req, opt.users,
	       st.first_error);
	printf("\"client\":%.3f", cpu);
	for (int i = 0; i < ncomp; i++)
		printf(",\"%s\":%.3f", comp_name[i], cpu_comp[i]);
	if (opt.cpu_var)
		printf(",\"machine_busy\":%.3f,\"machine_iowait\":%.3f,\"machine_steal\":%.3f",
		       machine_busy, machine_iowait, machine_steal);
	printf("}}\n");
	return 0;
}
