-- 003: applying a Query Order answer (usage-and-open-api.md §4) to the
-- instance it belongs to. Unknown fields and enum values are kept as
-- received (D49); buyer contact data arrives sealed from koogate.

CREATE FUNCTION koogate_order_fetched(p_instance text, p_order text, p_line text, p_kind text,
                                      p_info jsonb, p_mobile bytea, p_email bytea)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i instance;
    line jsonb;
    product jsonb;
    buyer jsonb;
    expire timestamptz;
BEGIN
    SELECT * INTO i FROM instance WHERE instance_id = p_instance FOR UPDATE;
    SELECT l INTO line FROM jsonb_array_elements(COALESCE(p_info #> '{orderInfo,orderLine}', '[]')) l
     WHERE p_line = '' OR l ->> 'orderLineId' = p_line LIMIT 1;
    product := line #> '{productInfo,0}';
    buyer := CASE WHEN jsonb_typeof(p_info #> '{orderInfo,buyerInfo}') = 'object'
                  THEN p_info #> '{orderInfo,buyerInfo}' END;
    IF line ->> 'expireTime' ~ '^\d{14}$' THEN
        expire := to_timestamp(line ->> 'expireTime', 'YYYYMMDDHH24MISS')::timestamp AT TIME ZONE 'UTC';
    END IF;

    UPDATE instance_order
       SET fetch_state = 'done', fetch_error = NULL, order_info = p_info,
           product_id = COALESCE(product ->> 'productId', product_id),
           sku_code = COALESCE(product ->> 'skuCode', sku_code),
           amount = COALESCE(product ->> 'linearValue', amount),
           expire_time = COALESCE(expire, expire_time)
     WHERE instance_id = p_instance AND order_id = p_order AND order_line_id = p_line AND kind = p_kind;

    UPDATE instance
       SET order_info = p_info,
           customer_id = COALESCE(buyer ->> 'customerId', customer_id),
           customer_name = COALESCE(buyer ->> 'customerName', customer_name),
           user_id = COALESCE(buyer ->> 'userId', user_id),
           user_name = COALESCE(buyer ->> 'userName', user_name),
           mobile_phone = COALESCE(p_mobile, mobile_phone),
           email = COALESCE(p_email, email),
           product_id = COALESCE(product ->> 'productId', NULLIF(product_id, '')),
           sku_code = COALESCE(product ->> 'skuCode', sku_code),
           amount = COALESCE(product ->> 'linearValue', amount),
           charging_mode = COALESCE(line ->> 'chargingMode', charging_mode),
           period_type = COALESCE(line ->> 'periodType', period_type),
           period_number = COALESCE(CASE WHEN line ->> 'periodNumber' ~ '^\d{1,9}$'
                                         THEN (line ->> 'periodNumber')::integer END, period_number),
           -- refreshInstance is authoritative for the expiry; an order only fills
           -- it in when none is known (a late 'new' must not undo a renewal)
           expire_time = COALESCE(expire_time, expire),
           updated_at = now()
     WHERE instance_id = p_instance;

    PERFORM koogate_event('order-fetched', i, p_order, p_line,
        jsonb_build_object('kind', p_kind, 'chargingMode', line ->> 'chargingMode',
                           'productId', product ->> 'productId', 'skuCode', product ->> 'skuCode'));
END $$;
