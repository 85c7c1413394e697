-- 015: "no instance resource available" (000100; basic-interfaces.md §5.1
-- step 4, §5.6, §6.6, §7). koogate_capacity is the vendor's hook: it decides
-- synchronously, inside the transaction that would create the instance or
-- record the upgrade, whether there is room. NULL means yes; any text means
-- no, and is logged as the reason. The vendor replaces it with
-- CREATE OR REPLACE FUNCTION (same arguments), e.g. to count active
-- instances of a product against a limit; it must stay cheap (the
-- marketplace waits 5 s). A refused order creates no instance, order row or
-- event. Test orders (testFlag 1) never ask it: dialing tests must pass
-- whenever the service is healthy (D19); repeats of accepted orders neither.
--   p_kind        'new' or 'upgrade'
--   p_generation  1 (V1) or 2 (V2)
--   p_product, p_sku  known for V1 orders and upgrades, and for V2 upgrades
--                 of instances Query Order has described; NULL otherwise
--   p_instance    the instance id the order gets or has
CREATE FUNCTION koogate_capacity(p_kind text, p_generation integer, p_order text, p_line text,
                                 p_product text, p_sku text, p_instance text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT NULL::text;
$$;

-- koogate_upgrade asks koogate_capacity before it records a new production
-- upgrade (a repeat stays a success). The recording itself stays 002's
-- function, renamed; the new one in front of it takes its name and arguments.
ALTER FUNCTION koogate_upgrade(text, text, text, text, text, text, boolean, boolean)
    RENAME TO koogate_upgrade_record;

CREATE FUNCTION koogate_upgrade(p_instance text, p_order text, p_line text, p_product text,
                                p_sku text, p_amount text, p_test boolean, p_fetch boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l record;
    refusal text;
BEGIN
    SELECT * INTO l FROM koogate_lock(p_instance, p_test);
    IF l.verdict = 'ok' AND (l.i).status <> 'released' AND NOT p_test
       AND NOT EXISTS (SELECT 1 FROM instance_order WHERE instance_id = p_instance AND order_id = p_order
                       AND order_line_id = COALESCE(p_line, '') AND kind = 'upgrade') THEN
        refusal := koogate_capacity('upgrade', (l.i).generation, p_order, COALESCE(p_line, ''),
                                    COALESCE(NULLIF(p_product, ''), NULLIF((l.i).product_id, '')),
                                    COALESCE(NULLIF(p_sku, ''), (l.i).sku_code), p_instance);
        IF refusal IS NOT NULL THEN RETURN 'no-capacity: ' || refusal; END IF;
    END IF;
    RETURN koogate_upgrade_record(p_instance, p_order, p_line, p_product, p_sku, p_amount, p_test, p_fetch);
END $$;
