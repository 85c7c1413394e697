/* SPDX-License-Identifier: ISC */
/* Request authentication for each interface family (security.md §1–§6).
 * Each step decides and returns KG_OK or the refusal's resultCode, with the
 * verdict set and logged (kg_refuse); the caller answers. On success the
 * payload is ready for the handler: c->json (V2, Kit V1) or c->params (V1). */
#ifndef KG_AUTH_H
#define KG_AUTH_H

#include "result.h"

struct kg_ctx;

enum kg_result kg_auth_v2_basic(struct kg_ctx *c);   /* query signature/timestamp/nonce, JSON body */
enum kg_result kg_auth_v1_basic(struct kg_ctx *c);   /* GET query authToken/timeStamp */
enum kg_result kg_auth_kit_v2(struct kg_ctx *c);     /* headers x-sign/x-timestamp/x-nonce, JSON body */
enum kg_result kg_auth_kit_v1(struct kg_ctx *c);     /* header authToken over the body members (D13) */

#endif
