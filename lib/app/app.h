/* SPDX-License-Identifier: ISC */
/* The FastCGI backend every program shares (after lighttpd's backend
 * module): start-up order, the accept loop, signed replies, refusals and the
 * request log. Authentication (auth.h), the nonce claim (nonce.h) and the
 * audit rows (audit.h) are modules of their own. A program supplies only its
 * name, family and serve function. */
#ifndef KG_APP_H
#define KG_APP_H

#include "clock.h"
#include <stdbool.h>
#include <json-c/json.h>
#include "crypto.h"
#include "db.h"
#include "params.h"
#include "request.h"
#include "result.h"
#include "sign.h"

struct kg_ctx;

struct kg_program {
	const char     *name;
	enum kg_scheme  family;             /* whose keys sign the answers */
	bool            needs_master_key;
	bool            needs_rsa_key;      /* applicationSync decrypts clientSecret */
	bool            needs_apig;         /* calls Query Order with the APIG AK/SK (produce) */
	void          (*serve)(struct kg_ctx *c);
	/* optional: work done after the answer is sent, when follow_up is set */
	void          (*follow_up)(struct kg_ctx *c);
	/* optional: resultMsg of a success answered by kg_dispatch */
	const char     *ok_msg;
	/* optional: a configuration problem that does not stop the program but
	 * fails some requests; logged at start so the operator sees it first */
	const char   *(*config_problem)(void);
};

struct kg_ctx {
	const struct kg_program *prog;
	struct kg_req            req;
	double                   t0;          /* monotonic ms at accept */
	/* for the log line and the audit row */
	const char              *activity;
	char                     instance_id[128];
	char                     order_id[128];
	enum kg_verdict          verdict;
	enum kg_result           result;
	/* authentication */
	int                      key_index;   /* key of the family that verified, -1 none */
	enum kg_sigform          form;
	bool                     test;        /* testFlag set */
	bool                     follow_up;   /* run prog->follow_up after answering */
	struct kg_tx             tx;          /* the nonce claim every statement waits for (db.h) */
	/* the request payload: V2 JSON body or V1 decoded query */
	json_object             *json;
	struct kg_params         params;
};

int kg_main(const struct kg_program *prog);

/* A refusal: sets the verdict, logs "refused: <why>" and returns res, for
 * the one caller that answers (kg_reply, or a handler's return). */
enum kg_result kg_refuse(struct kg_ctx *c, enum kg_result res, enum kg_verdict verdict,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A transport fault (404, 405, ...): the verdict and a plain status answer. */
void kg_fault(struct kg_ctx *c, int status, enum kg_verdict verdict);

/* A signed JSON answer with the family key that verified the request (or the
 * family's first key). extra members follow resultCode/resultMsg. */
void kg_reply(struct kg_ctx *c, enum kg_result res, const char *msg, json_object *extra);
/* Note ids for the log line and audit row. */
void kg_note_ids(struct kg_ctx *c, const char *instance_id, const char *order_id);

/* AES key for appInfo, derived once per process from the verifying key. */
const struct kg_aeskey *kg_appinfo_key(const struct kg_ctx *c, enum kg_enctype type);


#endif
