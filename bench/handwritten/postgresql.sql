-- The due records at 2026-11-22, written by hand for PostgreSQL: the same csv as
-- `keepfor report --format csv` (key,rule,disposal_date,action), in one scan.
--
--   psql -X -q -v table=records_1m -f bench/handwritten/postgresql.sql \
--        postgresql://postgres@127.0.0.1:5432/keepfor_bench > due.csv
--
-- Cutoffs, worked out by hand. The instant is the date 2026-11-22; with the default
-- boundary "after" a record is due when its retain-until date R <= 2026-11-21.
--   order   R = end of the financial year (31 March) of placed_at + 6 years.
--           R <= 2026-11-21  <=>  FY end + 6y <= 2026-11-21  <=>  FY end <= 2020-11-21
--           <=>  FY end <= 2020-03-31  <=>  placed_at <= 2020-03-31.
--   enquiry R = local date of resolved_at in Europe/London + 1 year.
--           R <= 2026-11-21  <=>  local date <= 2025-11-21  <=>  resolved_at is before
--           2025-11-22 00:00 Europe/London, which is 2025-11-22 00:00 UTC (GMT in November).
--   quote   not accepted; R = quoted_at + 12 months  <=>  quoted_at <= 2025-11-21.
--   cv      R = received_at + 6 months  <=>  received_at <= 2026-05-21
--           (2026-05-21 + 6 months = 2026-11-21; 2026-05-22 + 6 months = 2026-11-22).
-- Disposal date D = R + 1 day. PostgreSQL's date + interval clamps to the month's last
-- day (2024-02-29 + 1 year = 2025-02-28), as keepfor's calendar arithmetic does.
SET datestyle TO ISO, YMD;
COPY (
    SELECT
        id AS key,
        CASE category
            WHEN 'order' THEN 'orders-tax'
            WHEN 'enquiry' THEN 'enquiries'
            WHEN 'quote' THEN 'quotes-not-accepted'
            ELSE 'cvs'
        END AS rule,
        CASE category
            WHEN 'order' THEN make_date(
                extract(year FROM placed_at)::int
                    + (to_char(placed_at, 'MM-DD') > '03-31')::int + 6, 4, 1)
            WHEN 'enquiry' THEN
                ((resolved_at AT TIME ZONE 'Europe/London')::date + interval '1 year 1 day')::date
            WHEN 'quote' THEN (quoted_at + interval '12 months' + interval '1 day')::date
            ELSE (received_at + interval '6 months' + interval '1 day')::date
        END AS disposal_date,
        CASE category WHEN 'enquiry' THEN 'anonymise' ELSE 'purge' END AS action
    FROM :"table"
    WHERE (category = 'order' AND placed_at <= DATE '2020-03-31')
       OR (category = 'enquiry' AND resolved_at < TIMESTAMPTZ '2025-11-22 00:00:00+00')
       OR (category = 'quote' AND accepted = false AND quoted_at <= DATE '2025-11-21')
       OR (category = 'cv' AND received_at <= DATE '2026-05-21')
) TO STDOUT WITH (FORMAT csv, HEADER);
