"""Build the example store ``examples/shop.db`` from ``examples/data/customers.csv``.

    python examples/make_shop_db.py [OUT.db]

The README's first command reports on the database this script makes; it is kept in
the repository so that command needs no set-up. Run this again after changing the CSV.
"""

from __future__ import annotations

import sys
from pathlib import Path

from keepfor.store import import_records, open_store, upgrade

HERE = Path(__file__).resolve().parent


def main(out: Path) -> None:
    out.unlink(missing_ok=True)
    url = f"sqlite:///{out}"
    upgrade(url)
    engine = open_store(url)
    try:
        result = import_records(engine, HERE / "data" / "customers.csv")
    finally:
        engine.dispose()
    print(f"wrote {out} with {result.count} records")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "shop.db")
