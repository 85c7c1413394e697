-- 004: the joint-operation Kit (kit-interfaces.md): tenants bound to
-- instances, their OAuth client credentials, authorised users and
-- departments. An empty instance_id (seller-side sync) is a valid key (D20).
-- Each sync call is one function call: one statement, one transaction.

ALTER TABLE event ADD COLUMN tenant_id text;
CREATE INDEX event_tenant ON event (tenant_id, id) WHERE tenant_id IS NOT NULL;

CREATE TABLE tenant (
    instance_id  text NOT NULL,
    tenant_id    text NOT NULL,
    tenant_code  text NOT NULL,
    name         text NOT NULL,
    domain_name  text NOT NULL,     -- the tenant's IdP base URL (login.md)
    order_id     text NOT NULL DEFAULT '',
    test_flag    boolean NOT NULL DEFAULT false,
    deleted_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, tenant_id)
);
CREATE INDEX tenant_by_id ON tenant (tenant_id);
CREATE INDEX tenant_by_code ON tenant (tenant_code);

CREATE TABLE tenant_app (
    instance_id   text NOT NULL,
    tenant_id     text NOT NULL,
    app_id        text NOT NULL,
    client_id     text NOT NULL,
    client_secret bytea NOT NULL,   -- sealed with the master key
    secret_mac    bytea NOT NULL,   -- HMAC of the plaintext under the master key: detects repeats
    test_flag     boolean NOT NULL DEFAULT false,
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, tenant_id, app_id)
);
CREATE INDEX tenant_app_by_tenant ON tenant_app (tenant_id);

CREATE TABLE tenant_user (
    instance_id   text NOT NULL,
    tenant_id     text NOT NULL,
    app_id        text NOT NULL,
    user_name     text NOT NULL,
    name          text,
    org_code      text,
    position      text,
    employee_code text,
    employee_type text,
    role          text,
    enabled       boolean NOT NULL DEFAULT true,
    mobile        bytea,            -- sealed
    email         bytea,            -- sealed
    contact_mac   bytea,            -- HMAC of mobile and e-mail: detects repeats without unsealing
    work_place    text,
    entry_date    text,
    extension     jsonb,
    state         text NOT NULL DEFAULT 'granted' CHECK (state IN ('granted', 'deleted', 'revoked')),
    synced        boolean NOT NULL DEFAULT true,   -- false: created at login before authSync (D34)
    test_flag     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, tenant_id, app_id, user_name)
);
CREATE INDEX tenant_user_by_tenant ON tenant_user (tenant_id, user_name);

CREATE TABLE tenant_org (
    instance_id  text NOT NULL,
    tenant_id    text NOT NULL,
    org_code     text NOT NULL,
    org_name     text NOT NULL,
    parent_code  text NOT NULL DEFAULT '',
    test_flag    boolean NOT NULL DEFAULT false,
    deleted_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, tenant_id, org_code)
);

CREATE FUNCTION koogate_kit_event(p_kind text, p_instance text, p_tenant text, p_test boolean, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO event (kind, instance_id, tenant_id, test_flag, detail)
    VALUES (p_kind, NULLIF(p_instance, ''), p_tenant, p_test, p_detail);
$$;

-- tenantSync: flag 1 add, 2 modify (upsert), 0 delete (mark; never fails).
CREATE FUNCTION koogate_tenant_sync(p_instance text, p_tenant text, p_code text, p_name text,
                                    p_domain text, p_order text, p_flag int, p_test boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    IF p_flag = 0 THEN
        UPDATE tenant SET deleted_at = now(), updated_at = now()
         WHERE instance_id = p_instance AND tenant_id = p_tenant AND deleted_at IS NULL;
    ELSE
        INSERT INTO tenant AS t (instance_id, tenant_id, tenant_code, name, domain_name, order_id, test_flag)
        VALUES (p_instance, p_tenant, p_code, p_name, p_domain, COALESCE(p_order, ''), p_test)
        ON CONFLICT (instance_id, tenant_id) DO UPDATE
           SET tenant_code = EXCLUDED.tenant_code, name = EXCLUDED.name, domain_name = EXCLUDED.domain_name,
               order_id = EXCLUDED.order_id, test_flag = EXCLUDED.test_flag, deleted_at = NULL, updated_at = now()
         WHERE (t.tenant_code, t.name, t.domain_name, t.order_id, t.test_flag, t.deleted_at)
               IS DISTINCT FROM (EXCLUDED.tenant_code, EXCLUDED.name, EXCLUDED.domain_name,
                                 EXCLUDED.order_id, EXCLUDED.test_flag, NULL::timestamptz);
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        PERFORM koogate_kit_event(CASE WHEN p_flag = 0 THEN 'tenant-deleted' ELSE 'tenant-synced' END,
                                  p_instance, p_tenant, p_test,
                                  jsonb_build_object('tenantCode', p_code, 'flag', p_flag));
    END IF;
END $$;

-- applicationSync: the secret arrives sealed by koogate after RSA decryption,
-- with its MAC so that a repeat of the same secret changes nothing.
CREATE FUNCTION koogate_application_sync(p_instance text, p_tenant text, p_app text, p_client text,
                                         p_secret bytea, p_secret_mac bytea, p_flag int, p_test boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    IF p_flag = 0 THEN
        UPDATE tenant_app SET deleted_at = now(), updated_at = now()
         WHERE instance_id = p_instance AND tenant_id = p_tenant AND app_id = p_app AND deleted_at IS NULL;
    ELSE
        INSERT INTO tenant_app AS a (instance_id, tenant_id, app_id, client_id, client_secret, secret_mac, test_flag)
        VALUES (p_instance, p_tenant, p_app, p_client, p_secret, p_secret_mac, p_test)
        ON CONFLICT (instance_id, tenant_id, app_id) DO UPDATE
           SET client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret,
               secret_mac = EXCLUDED.secret_mac, test_flag = EXCLUDED.test_flag, deleted_at = NULL,
               updated_at = now()
         WHERE (a.client_id, a.secret_mac, a.test_flag, a.deleted_at)
               IS DISTINCT FROM (EXCLUDED.client_id, EXCLUDED.secret_mac, EXCLUDED.test_flag, NULL::timestamptz);
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        PERFORM koogate_kit_event(CASE WHEN p_flag = 0 THEN 'app-deleted' ELSE 'app-synced' END,
                                  p_instance, p_tenant, p_test,
                                  jsonb_build_object('appId', p_app, 'clientId', p_client, 'flag', p_flag));
    END IF;
END $$;

-- authSync: p_users is a JSON array already normalised by koogate (strings,
-- enabled as a boolean, mobile/email sealed as hex with contactMac). Duplicate user names in
-- one call: the last one wins. Rows are touched in user-name order so
-- concurrent syncs of one tenant cannot deadlock.
CREATE FUNCTION koogate_auth_sync(p_instance text, p_tenant text, p_app text, p_flag int,
                                  p_test boolean, p_users jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    IF p_flag IN (0, 3) THEN
        UPDATE tenant_user u SET state = CASE WHEN p_flag = 0 THEN 'deleted' ELSE 'revoked' END,
                                 updated_at = now()
          FROM (SELECT DISTINCT x ->> 'userName' AS user_name FROM jsonb_array_elements(p_users) x) d
         WHERE u.instance_id = p_instance AND u.tenant_id = p_tenant AND u.app_id = p_app
           AND u.user_name = d.user_name
           AND u.state <> CASE WHEN p_flag = 0 THEN 'deleted' ELSE 'revoked' END;
    ELSE
        INSERT INTO tenant_user AS t (instance_id, tenant_id, app_id, user_name, name, org_code, position,
                                      employee_code, employee_type, role, enabled, mobile, email,
                                      contact_mac, work_place, entry_date, extension, state, synced, test_flag)
        SELECT p_instance, p_tenant, p_app, x ->> 'userName', x ->> 'name', x ->> 'orgCode', x ->> 'position',
               x ->> 'employeeCode', x ->> 'employeeType', x ->> 'role', (x ->> 'enable')::boolean,
               decode(x ->> 'mobile', 'hex'), decode(x ->> 'email', 'hex'),
               decode(x ->> 'contactMac', 'hex'), x ->> 'workPlace',
               x ->> 'entryDate', x -> 'extension', 'granted', true, p_test
          FROM (SELECT DISTINCT ON (e.x ->> 'userName') e.x
                  FROM jsonb_array_elements(p_users) WITH ORDINALITY AS e(x, n)
                 ORDER BY e.x ->> 'userName', e.n DESC) last
         ORDER BY x ->> 'userName'
        ON CONFLICT (instance_id, tenant_id, app_id, user_name) DO UPDATE
           SET name = EXCLUDED.name, org_code = EXCLUDED.org_code, position = EXCLUDED.position,
               employee_code = EXCLUDED.employee_code, employee_type = EXCLUDED.employee_type,
               role = EXCLUDED.role, enabled = EXCLUDED.enabled, mobile = EXCLUDED.mobile,
               email = EXCLUDED.email, contact_mac = EXCLUDED.contact_mac, work_place = EXCLUDED.work_place, entry_date = EXCLUDED.entry_date,
               extension = EXCLUDED.extension, state = 'granted', synced = true,
               test_flag = EXCLUDED.test_flag, updated_at = now()
         WHERE (t.name, t.org_code, t.position, t.employee_code, t.employee_type, t.role, t.enabled,
                t.contact_mac, t.work_place, t.entry_date, t.extension, t.state, t.synced, t.test_flag)
               IS DISTINCT FROM
               (EXCLUDED.name, EXCLUDED.org_code, EXCLUDED.position, EXCLUDED.employee_code,
                EXCLUDED.employee_type, EXCLUDED.role, EXCLUDED.enabled, EXCLUDED.contact_mac,
                EXCLUDED.work_place, EXCLUDED.entry_date, EXCLUDED.extension, 'granted', true,
                EXCLUDED.test_flag);
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        PERFORM koogate_kit_event('users-synced', p_instance, p_tenant, p_test,
            jsonb_build_object('appId', p_app, 'flag', p_flag, 'changed', changed,
                               'users', jsonb_array_length(p_users)));
    END IF;
    RETURN changed;
END $$;

-- singleOrgSync: one department; children are not cascaded on delete.
CREATE FUNCTION koogate_single_org_sync(p_instance text, p_tenant text, p_code text, p_name text,
                                        p_parent text, p_flag int, p_test boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    IF p_flag = 0 THEN
        UPDATE tenant_org SET deleted_at = now(), updated_at = now()
         WHERE instance_id = p_instance AND tenant_id = p_tenant AND org_code = p_code AND deleted_at IS NULL;
    ELSE
        INSERT INTO tenant_org AS o (instance_id, tenant_id, org_code, org_name, parent_code, test_flag)
        VALUES (p_instance, p_tenant, p_code, p_name, COALESCE(p_parent, ''), p_test)
        ON CONFLICT (instance_id, tenant_id, org_code) DO UPDATE
           SET org_name = EXCLUDED.org_name, parent_code = EXCLUDED.parent_code,
               test_flag = EXCLUDED.test_flag, deleted_at = NULL, updated_at = now()
         WHERE (o.org_name, o.parent_code, o.test_flag, o.deleted_at)
               IS DISTINCT FROM (EXCLUDED.org_name, EXCLUDED.parent_code, EXCLUDED.test_flag, NULL::timestamptz);
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        PERFORM koogate_kit_event('org-synced', p_instance, p_tenant, p_test,
                                  jsonb_build_object('orgCode', p_code, 'flag', p_flag));
    END IF;
END $$;

-- allOrgSync: the list is the whole tree (D22): upsert every item, mark the
-- rest deleted. An identical repeat changes nothing.
CREATE FUNCTION koogate_all_org_sync(p_instance text, p_tenant text, p_test boolean, p_orgs jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    upserted integer;
    removed integer;
BEGIN
    INSERT INTO tenant_org AS o (instance_id, tenant_id, org_code, org_name, parent_code, test_flag)
    SELECT p_instance, p_tenant, x ->> 'orgCode', x ->> 'orgName', COALESCE(x ->> 'parentCode', ''), p_test
      FROM (SELECT DISTINCT ON (e.x ->> 'orgCode') e.x
              FROM jsonb_array_elements(p_orgs) WITH ORDINALITY AS e(x, n)
             ORDER BY e.x ->> 'orgCode', e.n DESC) last
     ORDER BY x ->> 'orgCode'
    ON CONFLICT (instance_id, tenant_id, org_code) DO UPDATE
       SET org_name = EXCLUDED.org_name, parent_code = EXCLUDED.parent_code,
           test_flag = EXCLUDED.test_flag, deleted_at = NULL, updated_at = now()
     WHERE (o.org_name, o.parent_code, o.test_flag, o.deleted_at)
           IS DISTINCT FROM (EXCLUDED.org_name, EXCLUDED.parent_code, EXCLUDED.test_flag, NULL::timestamptz);
    GET DIAGNOSTICS upserted = ROW_COUNT;
    UPDATE tenant_org SET deleted_at = now(), updated_at = now()
     WHERE instance_id = p_instance AND tenant_id = p_tenant AND deleted_at IS NULL
       AND org_code NOT IN (SELECT x ->> 'orgCode' FROM jsonb_array_elements(p_orgs) x);
    GET DIAGNOSTICS removed = ROW_COUNT;
    IF upserted + removed > 0 THEN
        PERFORM koogate_kit_event('orgs-synced', p_instance, p_tenant, p_test,
            jsonb_build_object('upserted', upserted, 'deleted', removed, 'orgs', jsonb_array_length(p_orgs)));
    END IF;
    RETURN upserted + removed;
END $$;
