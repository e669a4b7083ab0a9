"""What the BottleCRM test server needs done outside its API, run by BottleCRM's own
Python (``DJANGO_SETTINGS_MODULE=bottlecrm_settings``), never imported by the tests.

``python bottlecrm_admin.py setup``
    a user, an org and the user's admin profile; prints the org's id and a JWT for that
    user in that org (what ``POST /api/profile/tokens/`` takes to make a personal
    access token).
``python bottlecrm_admin.py seed < contacts.json``
    contacts from a JSON list of objects (properties, and ``created_at`` /
    ``updated_at`` as ISO texts, which the API cannot set); prints their ids in order.
"""

import json
import sys
from datetime import datetime

import django

django.setup()

from common.models import Org, Profile, User  # noqa: E402
from common.serializer import OrgAwareRefreshToken  # noqa: E402
from contacts.models import Contact  # noqa: E402


def setup() -> None:
    user = User.objects.create(email="keepfor@example.com")
    org = Org.objects.create(name="keepfor tests")
    profile = Profile.objects.create(user=user, org=org, role="ADMIN", is_organization_admin=True)
    token = OrgAwareRefreshToken.for_user_and_org(user, org, profile)
    print(json.dumps({"org": str(org.id), "jwt": str(token.access_token)}))


def seed() -> None:
    org = Org.objects.get(name="keepfor tests")
    user = User.objects.get(email="keepfor@example.com")
    ids = []
    for spec in json.load(sys.stdin):
        dates = {k: datetime.fromisoformat(spec.pop(k)) for k in ("created_at", "updated_at")}
        contact = Contact.objects.create(org=org, created_by=user, **spec)
        Contact.objects.filter(pk=contact.pk).update(**dates)
        ids.append(str(contact.pk))
    print(json.dumps(ids))


if __name__ == "__main__":
    {"setup": setup, "seed": seed}[sys.argv[1]]()
