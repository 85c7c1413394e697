/* SPDX-License-Identifier: ISC */
/* The marketplace result codes: one enum, one table of codes and messages. */
#ifndef KG_RESULT_H
#define KG_RESULT_H

enum kg_result {
	KG_OK,           /* 000000 */
	KG_EAUTH,        /* 000001 authentication failed */
	KG_EPARAM,       /* 000002 request parameter invalid */
	KG_ENOINST,      /* 000003 instance does not exist */
	KG_EBUSY,        /* 000004 request being processed */
	KG_EINTERNAL,    /* 000005 other internal error */
	KG_ENORES,       /* 000100 no instance resource available */
	KG_ESECRET,      /* 000101 (Kit applicationSync) clientSecret undecryptable */
	KG_RESULT__MAX
};

const char *kg_result_code(enum kg_result r);
const char *kg_result_msg(enum kg_result r);

/* Why a call ended as it did: one word in the log line and the audit row
 * (inbound_call.verdict), after kcgi's enum kcgi_err. */
enum kg_verdict {
	KG_V_OK,
	KG_V_REFUSED,        /* a handler refused (its resultCode says why) */
	KG_V_BAD_REQUEST,
	KG_V_BAD_JSON,
	KG_V_BAD_SIGNATURE,
	KG_V_STALE,
	KG_V_REPLAY,
	KG_V_DB_ERROR,
	KG_V_NOT_FOUND,
	KG_V_BAD_METHOD,
	KG_V_TOO_LARGE,
	KG_V_BAD_LENGTH,
	KG_V_NO_ANSWER,
	KG_V_NO_SESSION,
	KG_V_BAD_TOKEN,
	KG_V_BAD_STATE,
	KG_V_UNKNOWN_TENANT,
	KG_V_UPSTREAM,
	KG_V_ERROR,
	KG_VERDICT__MAX
};
const char *kg_verdict_name(enum kg_verdict v);

#endif
