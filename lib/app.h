/* The FastCGI backend every program shares (after lighttpd's backend
 * module): start-up order, the accept loop, request authentication for each
 * interface family, signed replies, the request log and the audit row. A
 * program supplies only its name, family and serve function. */
#ifndef KG_APP_H
#define KG_APP_H

#include "clock.h"
#include <stdbool.h>
#include <json-c/json.h>
#include "crypto.h"
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
};

struct kg_ctx {
	const struct kg_program *prog;
	struct kg_req            req;
	double                   t0;          /* monotonic ms at accept */
	/* for the log line and the audit row */
	const char              *activity;
	char                     instance_id[128];
	char                     order_id[128];
	const char              *verdict;     /* short static word: "ok", "bad-signature", ... */
	enum kg_result           result;
	/* authentication */
	int                      key_index;   /* key of the family that verified, -1 none */
	enum kg_sigform          form;
	bool                     test;        /* testFlag set */
	bool                     follow_up;   /* run prog->follow_up after answering */
	/* the request payload: V2 JSON body or V1 decoded query */
	json_object             *json;
	struct kg_params         params;
};

int kg_main(const struct kg_program *prog);

/* Authentication steps. Each either returns true, or answers the request
 * itself (with the right resultCode) and returns false. */
bool kg_auth_v2_basic(struct kg_ctx *c);   /* query signature/timestamp/nonce, JSON body */
bool kg_auth_v1_basic(struct kg_ctx *c);   /* GET query authToken/timeStamp */
bool kg_auth_kit_v2(struct kg_ctx *c);     /* headers x-sign/x-timestamp/x-nonce, JSON body */
bool kg_auth_kit_v1(struct kg_ctx *c);     /* header authToken over the body members (D13) */

/* A signed JSON answer with the family key that verified the request (or the
 * family's first key). extra members follow resultCode/resultMsg. */
void kg_reply(struct kg_ctx *c, enum kg_result res, const char *msg, json_object *extra);
/* Note ids for the log line and audit row. */
void kg_note_ids(struct kg_ctx *c, const char *instance_id, const char *order_id);

/* AES key for appInfo, derived once per process from the verifying key. */
const struct kg_aeskey *kg_appinfo_key(const struct kg_ctx *c, enum kg_enctype type);


#endif
