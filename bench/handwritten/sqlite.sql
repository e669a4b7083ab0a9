-- The due records at 2026-11-22, written by hand for SQLite: the same csv as
-- `keepfor report --format csv` (key,rule,disposal_date,action), in one scan.
--
--   TZ=Europe/London sqlite3 -batch -readonly bench/out/bench_1m.db \
--       < bench/handwritten/sqlite.sql > due.csv
--
-- The table holds dates as 'YYYY-MM-DD' text and resolved_at as UTC text
-- 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's DATETIME form). TZ=Europe/London makes
-- SQLite's 'localtime' modifier the pack's zone, for the enquiries' disposal dates.
--
-- Cutoffs, worked out by hand. The instant is the date 2026-11-22; with the default
-- boundary "after" a record is due when its retain-until date R <= 2026-11-21.
--   order   R = end of the financial year (31 March) of placed_at + 6 years.
--           R <= 2026-11-21  <=>  FY end + 6y <= 2026-11-21  <=>  FY end <= 2020-11-21
--           <=>  FY end <= 2020-03-31  <=>  placed_at <= '2020-03-31'.
--   enquiry R = local date of resolved_at in Europe/London + 1 year.
--           R <= 2026-11-21  <=>  local date <= 2025-11-21  <=>  resolved_at is before
--           2025-11-22 00:00 Europe/London, which is 2025-11-22 00:00 UTC (GMT in November).
--   quote   not accepted; R = quoted_at + 12 months  <=>  quoted_at <= '2025-11-21'.
--   cv      R = received_at + 6 months  <=>  received_at <= '2026-05-21'
--           (2026-05-21 + 6 months = 2026-11-21; 2026-05-22 + 6 months = 2026-11-22).
-- Disposal date D = R + 1 day. SQLite's '+N months' overflows into the next month
-- (2023-08-31 +6 months = 2024-03-02), so the month-end clamp is written out: the
-- smaller of "same day in the target month" and the target month's last day.
.mode csv
.separator "," "\n"
.headers on
SELECT
    id AS key,
    CASE category
        WHEN 'order' THEN 'orders-tax'
        WHEN 'enquiry' THEN 'enquiries'
        WHEN 'quote' THEN 'quotes-not-accepted'
        ELSE 'cvs'
    END AS rule,
    CASE category
        WHEN 'order' THEN printf('%04d-04-01',
            CAST(substr(placed_at, 1, 4) AS INTEGER) + (substr(placed_at, 6, 5) > '03-31') + 6)
        WHEN 'enquiry' THEN (
            SELECT date(CASE WHEN substr(d, 6, 5) = '02-29'
                             THEN printf('%04d-02-28', CAST(substr(d, 1, 4) AS INTEGER) + 1)
                             ELSE date(d, '+1 year') END, '+1 day')
            FROM (SELECT date(resolved_at, 'localtime') AS d))
        WHEN 'quote' THEN date(
            min(date(quoted_at, 'start of month', '+12 months',
                     '+' || (CAST(substr(quoted_at, 9, 2) AS INTEGER) - 1) || ' days'),
                date(quoted_at, 'start of month', '+13 months', '-1 day')),
            '+1 day')
        ELSE date(
            min(date(received_at, 'start of month', '+6 months',
                     '+' || (CAST(substr(received_at, 9, 2) AS INTEGER) - 1) || ' days'),
                date(received_at, 'start of month', '+7 months', '-1 day')),
            '+1 day')
    END AS disposal_date,
    CASE category WHEN 'enquiry' THEN 'anonymise' ELSE 'purge' END AS action
FROM records
WHERE (category = 'order' AND placed_at <= '2020-03-31')
   OR (category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00.000000')
   OR (category = 'quote' AND accepted = 0 AND quoted_at <= '2025-11-21')
   OR (category = 'cv' AND received_at <= '2026-05-21');
