"""Django settings for a BottleCRM test server: its own settings on SQLite, with no
migrations (tables made from the models, ``migrate --run-syncdb``: seconds, not
minutes), no Redis (an in-memory Celery broker), a fast password hasher.

Run by BottleCRM's Python (its own virtual environment), never imported by keepfor or
the tests: ``tests/servers/bottlecrm.py`` puts a copy on that Python's path. It reads
the database's path from ``KEEPFOR_BOTTLECRM_DB``.
"""

import os

from crm.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["KEEPFOR_BOTTLECRM_DB"],
        # Concurrent writes (keepfor deletes a few contacts at once) wait for the lock
        # instead of failing "database is locked" when a read lock cannot be upgraded.
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}


class _NoMigrations:
    """Every app without migrations: ``migrate --run-syncdb`` makes its tables."""

    def __contains__(self, app: str) -> bool:
        return True

    def __getitem__(self, app: str) -> None:
        return None


MIGRATION_MODULES = _NoMigrations()
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
