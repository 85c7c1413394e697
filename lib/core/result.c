/* SPDX-License-Identifier: ISC */
#include "result.h"

static const struct {
	const char *code;
	const char *msg;
} results[KG_RESULT__MAX] = {
	[KG_OK]        = { "000000", "success." },
	[KG_EAUTH]     = { "000001", "token is invalid" },
	[KG_EPARAM]    = { "000002", "param is invalid" },
	[KG_ENOINST]   = { "000003", "instance is invalid" },
	[KG_EBUSY]     = { "000004", "request is processing" },
	[KG_EINTERNAL] = { "000005", "other inner error" },
	[KG_ENORES]    = { "000100", "no instance resource available" },
	[KG_ESECRET]   = { "000101", "something wrong with appSecret" },
};

const char *kg_result_code(enum kg_result r)
{
	return (unsigned)r < KG_RESULT__MAX ? results[r].code : results[KG_EINTERNAL].code;
}

const char *kg_result_msg(enum kg_result r)
{
	return (unsigned)r < KG_RESULT__MAX ? results[r].msg : results[KG_EINTERNAL].msg;
}

const char *kg_verdict_name(enum kg_verdict v)
{
	static const char *const names[KG_VERDICT__MAX] = {
		[KG_V_OK]             = "ok",
		[KG_V_REFUSED]        = "refused",
		[KG_V_BAD_REQUEST]    = "bad-request",
		[KG_V_BAD_JSON]       = "bad-json",
		[KG_V_BAD_SIGNATURE]  = "bad-signature",
		[KG_V_STALE]          = "stale",
		[KG_V_REPLAY]         = "replay",
		[KG_V_DB_ERROR]       = "db-error",
		[KG_V_NOT_FOUND]      = "not-found",
		[KG_V_BAD_METHOD]     = "bad-method",
		[KG_V_TOO_LARGE]      = "too-large",
		[KG_V_BAD_LENGTH]     = "bad-length",
		[KG_V_NO_ANSWER]      = "no-answer",
		[KG_V_NO_SESSION]     = "no-session",
		[KG_V_BAD_TOKEN]      = "bad-token",
		[KG_V_BAD_STATE]      = "bad-state",
		[KG_V_UNKNOWN_TENANT] = "unknown-tenant",
		[KG_V_UPSTREAM]       = "upstream",
		[KG_V_ERROR]          = "error",
	};
	return (unsigned)v < KG_VERDICT__MAX ? names[v] : "error";
}
