/* SPDX-License-Identifier: ISC */
/* applicationSync (kit-interfaces.md §6): the tenant's OAuth client. The
 * clientSecret arrives RSA-OAEP encrypted with our public key (D7) and is
 * stored sealed under the master key. Keyed by (instanceId, tenantId, appId). */
#include <string.h>

#include "kit.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"

static struct kg_stmt q_sync = KG_STMT(application_sync, 8,
	"SELECT koogate_application_sync($1, $2, $3, $4, $5::bytea, $6::bytea, $7::int, $8::boolean)");

static const char *const flags[] = { "0", "1", "2", NULL };

enum { A_INSTANCE_ID, A_TENANT_ID, A_APP_ID, A_CLIENT_ID, A_CLIENT_SECRET, A_FLAG, A__MAX };

static const struct kg_field fields[A__MAX] = {
	[A_INSTANCE_ID]   = { "instanceId",   KG_F_PRESENT,  64,   NULL },
	[A_TENANT_ID]     = { "tenantId",     KG_F_REQUIRED, 64,   NULL },
	[A_APP_ID]        = { "appId",        KG_F_REQUIRED, 64,   NULL },
	[A_CLIENT_ID]     = { "clientId",     0,             64,   NULL },
	[A_CLIENT_SECRET] = { "clientSecret", 0,             4096, NULL },
	[A_FLAG]          = { "flag",         KG_F_REQUIRED, 2,    flags },
};

static enum kg_result handle(struct kg_ctx *c, const struct kg_values *v, struct kg_answer *a)
{
	struct kbuf secret = { 0 }, sealed = { 0 }, sealed_hex = { 0 }, mac_hex = { 0 };
	unsigned char mac[KG_SHA256_LEN];
	bool del = strcmp(v->v[A_FLAG], "0") == 0;
	enum kg_result r = KG_OK;
	int key;

	kg_note_ids(c, v->v[A_INSTANCE_ID], NULL);
	if (!del) {
		if (!v->v[A_CLIENT_ID] || !*v->v[A_CLIENT_ID] || !v->v[A_CLIENT_SECRET] || !*v->v[A_CLIENT_SECRET]) {
			return kg_refuse(c, KG_EPARAM, KG_V_REFUSED, "clientId and clientSecret are required to add or modify");
		}
		if (!(key = kg_rsa_oaep_decrypt(v->v[A_CLIENT_SECRET], strlen(v->v[A_CLIENT_SECRET]), &secret))) {
			(void)a;        /* the standard message of 000101 */
			return kg_refuse(c, KG_ESECRET, KG_V_REFUSED, "clientSecret does not decrypt with any "
			                 "rsa_private_key (OAEP SHA-256, MGF1 SHA-1 and SHA-256 tried): is the uploaded "
			                 "public key the one of a configured key?");
		}
		/* which key the marketplace used tells when an old one can go (rotation) */
		kg_log("clientSecret decrypted with rsa_private_key #%d", key);
		kg_seal(kg_cfg.master_key, secret.p, secret.len, &sealed);
		kg_hmac_sha256(kg_cfg.master_key, KG_MASTER_KEY_LEN, secret.p, secret.len, mac);
		kg_db_bytea_param(sealed.p, sealed.len, &sealed_hex);
		kg_db_bytea_param(mac, sizeof mac, &mac_hex);
	}
	const char *p[8] = { v->v[A_INSTANCE_ID], v->v[A_TENANT_ID], v->v[A_APP_ID],
	                     v->v[A_CLIENT_ID] ? v->v[A_CLIENT_ID] : "", sealed_hex.p, mac_hex.p,
	                     v->v[A_FLAG], c->test ? "true" : "false" };
	if (kg_db_run(&c->tx, &q_sync, p) < 0)
		r = KG_EINTERNAL;
	kbuf_free(&secret);
	kbuf_free(&sealed);
	kbuf_free(&sealed_hex);
	kbuf_free(&mac_hex);
	return r;
}

int main(void)
{
	static const struct kit_interface k = KIT_INTERFACE("applicationSync", fields, handle, true);
	return kg_kit_main(&k);
}
