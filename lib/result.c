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
