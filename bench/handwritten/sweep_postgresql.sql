-- The bare DELETE of the sweep benchmark (bench/sweep.py), PostgreSQL: the records due
-- at 2026-11-22 under bench/sweep_pack.yaml (every rule purges), deleted in one
-- statement, with no audit. The WHERE is bench/handwritten/postgresql.sql's (cutoffs
-- derived there).
--
--   psql -X -q -v ON_ERROR_STOP=1 -v table=sweep_1m -f bench/handwritten/sweep_postgresql.sql \
--        postgresql://postgres@127.0.0.1:5432/keepfor_sweep
DELETE FROM :"table"
WHERE (category = 'order' AND placed_at <= DATE '2020-03-31')
   OR (category = 'enquiry' AND resolved_at < TIMESTAMPTZ '2025-11-22 00:00:00+00')
   OR (category = 'quote' AND accepted = false AND quoted_at <= DATE '2025-11-21')
   OR (category = 'cv' AND received_at <= DATE '2026-05-21');
