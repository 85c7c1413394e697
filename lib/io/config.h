/* SPDX-License-Identifier: ISC */
/* One configuration file (path in $KOOGATE_CONFIG), each key overridable by
 * the environment as KOOGATE_<KEY> (upper case). Loaded and checked once at
 * start-up; a bad file is a clear error, never a crash at the first request. */
#ifndef KG_CONFIG_H
#define KG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "crypto.h"
#include "sign.h"

enum kg_provision { KG_PROVISION_AUTO, KG_PROVISION_EXTERNAL };

struct kg_config {
	char              *db;             /* libpq conninfo */
	int                db_timeout;     /* s, connect and statement */
	struct kg_keyring  basic_keys;
	struct kg_keyring  kit_keys;
	unsigned char      master_key[KG_MASTER_KEY_LEN];
	bool               has_master_key;
	int                v2_window;      /* s, |now - timestamp| */
	int                nonce_ttl;      /* s */
	int                v1_max_age;     /* s, 0 = off */
	size_t             body_limit;     /* bytes */
	int                call_retention_days; /* inbound_call rows older than this go; 0 = kept */
	int                encrypt_type;   /* 1 or 2 */
	enum kg_provision  provision_mode;
	char              *app_front_end_url;  /* may contain {instanceId} */
	char              *app_admin_url;
	char              *app_memo;
	char              *test_user_name;
	char              *test_password;
	char              *change_check_refuse; /* non-empty: changeInstanceCheck refuses with this */
	/* outbound open APIs */
	char              *mkt_url;        /* https://mkt.myhuaweicloud.com */
	char              *mkt_fallback_url;
	char              *apig_ak;
	char              *apig_sk;
	char              *ca_file;        /* extra CA bundle (tests); system CAs otherwise */
	int                order_fetch_hours;  /* how long Query Order is retried */
	int                order_fetch_inline; /* produce fetches new orders right after answering */
	char              *rsa_private_key;    /* file: PEM or Base64 PKCS#8 (Kit clientSecret) */
	/* buyer login (login.md) */
	char              *app_id;             /* the app credential's appId */
	char              *login_unified_url;  /* with {appId} */
	char              *login_callback_url; /* absolute URL of /koogate/callback */
	char              *cas_callback_url;   /* absolute URL of /koogate/cas-callback */
	char              *login_landing_url;
	char              *logout_redirect_url;
	char              *login_mode;         /* web or workbench */
	int                login_require_grant;/* refuse users authSync did not grant */
	char              *cas_tenant;         /* the tenant when a CAS callback names none */
	int                session_idle;       /* s */
	int                session_max;        /* s */
	char              *cookie_samesite;    /* Lax, Strict or None */
	char              *frame_ancestors;    /* CSP frame-ancestors for the pages */
	int                idp_timeout_ms;
	char              *log_file;           /* append log lines here instead of stderr (lighttpd) */
	/* usage push (usage-and-open-api.md §2, §3) */
	char              *usage_api;          /* new (default) or old */
	char              *usage_url;          /* full URL; default mkt_url + the new path */
	char              *usage_fallback_url; /* default mkt_fallback_url + the same path */
	char              *usage_key;          /* header-signature key; default the first basic key (D9) */
	int                usage_apig;         /* also APIG-sign the new push (D9) */
	int                usage_window;       /* s, the metering window of `usage add --at` (D40) */
	int                usage_timeout;      /* s, for each push request to answer */
	char              *usage_token;        /* bearer token of the usage endpoint; empty = closed */
	int                usage_info;         /* queryInstance reports usageInfo (D14) */
	char              *usage_on_demand_products; /* product ids billed pay-per-use (until Query Order says) */
	char              *usage_package_products;   /* product ids that are pay-per-use packages */
	/* koogate worker: the vendor's commands, per event kind */
	char              *worker_command;      /* for every kind without its own */
	char              *worker_on_created, *worker_on_renewed, *worker_on_frozen, *worker_on_unfrozen,
	                  *worker_on_released, *worker_on_upgraded, *worker_on_order_fetched, *worker_on_kit;
	int                worker_timeout;      /* s per command */
	int                worker_max_attempts;
	int                worker_test_events;  /* deliver testFlag events too */
};

extern struct kg_config kg_cfg;

/* Loads $KOOGATE_CONFIG (or path if not NULL) into kg_cfg. On failure writes
 * a message into err and returns false. */
bool kg_config_load(const char *path, char *err, size_t errlen);
/* Wipes the secrets a program does not use, so that a memory-disclosure bug
 * in it cannot reveal them: the master key unless keep_master_key, the APIG
 * secret key unless keep_apig, and the usage push key (only the CLI pushes). */
void kg_config_drop_secrets(bool keep_master_key, bool keep_apig);
/* Why a buyer login of mode ("web", "workbench", "cas") cannot start with
 * this configuration, naming the key; NULL when it can. Checked when the
 * login program starts, by koogate status and the status page. */
const char *kg_config_login_problem(const char *mode);

#endif
