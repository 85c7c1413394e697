-- 014: usageInfo of queryInstance (D14 revised). Pay-per-use (按需) and
-- pay-per-use package (按需套餐包) instances report their real-time usage;
-- period-billed and one-time instances report none.
--
-- The kind of an instance comes from Query Order's chargingMode (its values
-- beyond PERIOD are not published, D49: a mode naming a package is a package,
-- one naming demand is pay-per-use); while Query Order has not answered (and
-- for V1, whose chargingMode is a bare number), from the products the vendor
-- configured as pay-per-use or package (usage_on_demand_products,
-- usage_package_products). NULL: no usage is reported.
CREATE FUNCTION koogate_usage_kind(i instance, p_on_demand text[], p_package text[])
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN upper(i.charging_mode) ~ 'PACKAGE|PKG' THEN 'package'
        WHEN upper(i.charging_mode) ~ 'DEMAND' THEN 'on-demand'
        WHEN i.charging_mode ~ '^[A-Za-z_]+$' THEN NULL     -- Query Order named another mode
        WHEN i.product_id = ANY (p_package) THEN 'package'
        WHEN i.product_id = ANY (p_on_demand) THEN 'on-demand'
    END;
$$;

-- What queryInstance reports for one instance: no row when it is not
-- usage-billed. Pay-per-use: the usage recorded for the current, not yet
-- closed, metering window (usage_window seconds, D40) up to now; package: the
-- usage counted against the package (records naming it as
-- relate_pkg_instance). statistical_time is the end of the last window
-- recorded, or the time of the answer when nothing is recorded yet.
-- Rejected records never counted.
CREATE FUNCTION koogate_usage_info(i instance, p_on_demand text[], p_package text[], p_window integer,
                                   OUT usage_value text, OUT statistical_time text)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
    WITH k AS (SELECT koogate_usage_kind(i, p_on_demand, p_package) AS kind),
    r AS (SELECT r.usage_value, r.end_time FROM usage_record r, k
           WHERE r.state <> 'rejected'
             AND ((k.kind = 'package' AND r.relate_pkg_instance = i.instance_id)
               OR (k.kind = 'on-demand' AND r.instance_id = i.instance_id)))
    SELECT trim_scale(COALESCE(sum(r.usage_value) FILTER (WHERE k.kind = 'package' OR r.end_time >
               to_timestamp(floor(extract(epoch FROM now()) / p_window) * p_window)), 0))::text,
           to_char(COALESCE(max(r.end_time), now()) AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')
      FROM k LEFT JOIN r ON true
     WHERE k.kind IS NOT NULL
     GROUP BY k.kind;
$$;

CREATE INDEX usage_record_package ON usage_record (relate_pkg_instance) WHERE relate_pkg_instance IS NOT NULL;
