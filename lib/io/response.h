/* SPDX-License-Identifier: ISC */
/* Answers. Every JSON answer is HTTP 200 with resultCode/resultMsg first and
 * a Body-Sign header over the exact bytes sent (D3, D12). */
#ifndef KG_RESPONSE_H
#define KG_RESPONSE_H

#include <stddef.h>
#include <json-c/json.h>
#include "page.h"
#include "request.h"
#include "result.h"

/* Sends body with the given status and content type; Body-Sign when key. */
void kg_respond_raw(struct kg_req *r, int status, const char *content_type,
                    const char *key, const char *body, size_t n);
/* The same with extra header lines ("Name: value\r\n" each, may be NULL). */
void kg_respond_with(struct kg_req *r, int status, const char *content_type, const char *headers,
                     const char *key, const char *body, size_t n);
/* 302 to location, with extra header lines (cookies). */
void kg_respond_redirect(struct kg_req *r, const char *location, const char *headers);
/* A small HTML page in the shared style (page.h); every text is escaped at
 * the output. */
void kg_respond_page(struct kg_req *r, int status, const char *headers, const struct kg_page_msg *m);
/* Transport faults (404, 405, 413, 400): a short plain-text body. */
void kg_respond_status(struct kg_req *r, int status);
/* {"resultCode":..,"resultMsg":.., <extra members in order>} signed with key.
 * extra may be NULL; msg NULL means the standard message. */
void kg_respond_result(struct kg_req *r, const char *key, enum kg_result res,
                       const char *msg, json_object *extra);
/* Compact JSON text of o (no slash escaping). */
const char *kg_json_text(json_object *o, size_t *len);

#endif
