-- The bare DELETE of the sweep benchmark (bench/sweep.py), SQLite: the records due at
-- 2026-11-22 under bench/sweep_pack.yaml (every rule purges), deleted in one statement,
-- with no audit. The WHERE is bench/handwritten/sqlite.sql's (cutoffs derived there).
--
--   sqlite3 -batch bench/out/sweep-run.db < bench/handwritten/sweep_sqlite.sql
--
-- The sqlite3 CLI's defaults: rollback journal, synchronous FULL, one transaction
-- (the statement's own), as keepfor's SQLite engine (one transaction per batch).
DELETE FROM records
WHERE (category = 'order' AND placed_at <= '2020-03-31')
   OR (category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00.000000')
   OR (category = 'quote' AND accepted = 0 AND quoted_at <= '2025-11-21')
   OR (category = 'cv' AND received_at <= '2026-05-21');
