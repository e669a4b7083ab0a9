"""A CRM sync job with keepfor inside: the contacts changed since the last run are
decided as they stream past, and whatever the schedule says is due is flagged,
anonymised or purged in the CRM, every action audited. A dry run unless --apply.

    BOTTLECRM_URL=https://crm.example.com BOTTLECRM_TOKEN=... \\
        python examples/crm_sync_job.py --crm bottlecrm [--apply]
    HUBSPOT_URL=https://api.hubapi.com HUBSPOT_TOKEN=... \\
        python examples/crm_sync_job.py --crm hubspot [--apply]

The schedule is examples/crm/contacts.yaml; each CRM's config (examples/crm/*.toml) maps
its properties to the rules' fields. The job keeps, in the working folder, the time it
last ran (crm_sync_checkpoint.json) and keepfor's audit, holds and marks for the CRM
(crm_sync_state.db); applying needs the audit key (KEEPFOR_AUDIT_KEY).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import keepfor
from keepfor.sync import Sync

HERE = Path(__file__).resolve().parent / "crm"
CHECKPOINT = Path("crm_sync_checkpoint.json")
STATE_DB = "sqlite:///crm_sync_state.db"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crm", choices=["bottlecrm", "hubspot"], required=True)
    parser.add_argument("--apply", action="store_true", help="act (default: a dry run)")
    parser.add_argument("--at", help="the instant to run at (ISO 8601; default: now)")
    args = parser.parse_args()
    clock = keepfor.FixedClock(_instant(args.at)) if args.at else keepfor.SystemClock()
    config = HERE / f"{args.crm}.toml"
    try:
        with Sync.from_config(
            config, args.crm, rules=HERE / "contacts.yaml", clock=clock, state_db=STATE_DB
        ) as sync:
            changed = _decide_changed(sync, _since())
            result = sync.sweep(apply=args.apply)
    except keepfor.KeepforError as error:
        print(f"crm_sync_job: {error}", file=sys.stderr)
        return 2
    tally = result.sources[args.crm]
    verb = "done" if args.apply else "due (dry run: nothing done)"
    print(
        f"{args.crm}: {changed} contacts changed since the last run; {verb}: "
        f"{tally.purge} purge, {tally.anonymise} anonymise, {tally.flag} flag; "
        f"{tally.held} held, {tally.unreadable} unreadable"
    )
    for failure in result.failures:
        print(f"crm_sync_job: {failure}", file=sys.stderr)
    if args.apply and not result.failures:
        CHECKPOINT.write_text(json.dumps({"last_run": clock.now().isoformat()}))
    return 4 if result.failures else 0


def _decide_changed(sync: Sync, since: datetime | None) -> int:
    """Print what the schedule decides of each contact changed since ``since``."""
    statuses: Counter[str] = Counter()
    for key, record in sync.records():
        touched = record.get("last_contact_at")
        if since is not None and not _after(touched, since):
            continue
        decision = sync.decide(record)
        statuses[decision.status.value] += 1
        when = decision.disposal_date or "-"
        print(f"{key}: {decision.status.value:<10} {when!s:<10} {decision.reason}")
    return sum(statuses.values())


def _after(value: Any, since: datetime) -> bool:
    """Whether a contact's last-contact value is after ``since`` (unknown: it is)."""
    if isinstance(value, datetime):
        return value >= since
    if isinstance(value, date):
        return value >= since.date()
    return True


def _since() -> datetime | None:
    if not CHECKPOINT.exists():
        return None
    return datetime.fromisoformat(json.loads(CHECKPOINT.read_text())["last_run"])


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


if __name__ == "__main__":
    sys.exit(main())
