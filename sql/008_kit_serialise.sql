-- 008: concurrent syncs of one tenant's users or departments take turns.
-- The upsert locked rows in user-name order while delete/revoke locked them in
-- plan order, so parallel authSync calls could deadlock (found by the fault
-- tests). A transaction-scoped advisory lock per (instance, tenant, app)
-- serialises them; different tenants still run in parallel.

CREATE FUNCTION koogate_kit_lock(VARIADIC p_key text[]) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended(array_to_string(p_key, '|'), 727274));
$$;

CREATE OR REPLACE FUNCTION koogate_auth_sync(p_instance text, p_tenant text, p_app text, p_flag int,
                                             p_test boolean, p_users jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    PERFORM koogate_kit_lock('users', p_instance, p_tenant, p_app);
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
               email = EXCLUDED.email, contact_mac = EXCLUDED.contact_mac, work_place = EXCLUDED.work_place,
               entry_date = EXCLUDED.entry_date,
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

CREATE OR REPLACE FUNCTION koogate_all_org_sync(p_instance text, p_tenant text, p_test boolean, p_orgs jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    upserted integer;
    removed integer;
BEGIN
    PERFORM koogate_kit_lock('orgs', p_instance, p_tenant);
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

CREATE OR REPLACE FUNCTION koogate_single_org_sync(p_instance text, p_tenant text, p_code text, p_name text,
                                        p_parent text, p_flag int, p_test boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    PERFORM koogate_kit_lock('orgs', p_instance, p_tenant);
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
