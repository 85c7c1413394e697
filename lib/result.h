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

#endif
