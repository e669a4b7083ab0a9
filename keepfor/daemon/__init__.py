"""The background daemon: each scheduled source swept on its schedule, one sweeper per
source across processes, every run recorded in the source's own database.

::

    settings    the config keys (schedule, every, schedule_timezone, apply, reports)
    schedule    a source's APScheduler trigger, and when a missed run is caught up
    runs        keepfor_runs: each run's start, end, outcome and counts
    databases   a source's own SQLite file is there before it is connected to
    lock        one sweeper per source: advisory lock, GET_LOCK, or a lease row
    runner      one run of one source: lock, sweep, record, report, log, metrics
    service     the scheduler, signals, and the loop of ``keepfor daemon``

Importing this package imports nothing heavy: the config reader imports
:mod:`.settings` for every command.
"""
