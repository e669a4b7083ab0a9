"""The HubSpot-shaped test server itself (``tests/servers/hubspot.py``): the documented
shapes, operators, limits and errors that keepfor's source is tested against."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tests.servers.hubspot_fixture import (  # noqa: F401 (fixtures)
    CONTACTS,
    HubSpot,
    hubspot_fixture,
    ms,
)
from tests.servers.hubspot_search import date_ms

SEARCH = "/crm/v3/objects/contacts/search"


def call(server: HubSpot, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {kw.pop('token', server.token)}"}
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=30, **kw)


def search_ids(server: HubSpot, *filters: dict[str, Any], **body: Any) -> list[str]:
    groups = [{"filters": list(filters)}] if filters else []
    answer = call(server, "POST", SEARCH, {"filterGroups": groups, "limit": 200, **body})
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["results"]]


def test_search_pages_with_after_and_gives_the_asked_properties(hubspot: HubSpot) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        body: dict[str, Any] = {"limit": 20, "properties": ["email"]}
        if after:
            body["after"] = after
        answer = call(hubspot, "POST", SEARCH, body).json()
        assert answer["total"] == len(CONTACTS)
        first = answer["results"][0]
        assert set(first["properties"]) == {
            "hs_object_id", "createdate", "lastmodifieddate", "email",
        }  # fmt: skip
        assert first["archived"] is False
        assert first["createdAt"].endswith("Z")
        seen += [r["id"] for r in answer["results"]]
        after = answer.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
    assert seen == [c["id"] for c in CONTACTS]


def one(prop: str, operator: str, value: str | None = None, **more: Any) -> dict[str, Any]:
    """A filter."""
    out = {"propertyName": prop, "operator": operator, **more}
    if value is not None:
        out["value"] = value
    return out


def test_operators(hubspot: HubSpot) -> None:
    stage = [c["id"] for c in CONTACTS if c["properties"]["lifecyclestage"] == "lead"]
    assert search_ids(hubspot, one("lifecyclestage", "EQ", "LEAD")) == stage  # no case
    no_birthday = [c["id"] for c in CONTACTS if "date_of_birth" not in c["properties"]]
    assert search_ids(hubspot, one("date_of_birth", "NOT_HAS_PROPERTY")) == no_birthday
    has = search_ids(hubspot, one("date_of_birth", "HAS_PROPERTY"))
    assert len(has) == len(CONTACTS) - len(no_birthday)
    assert search_ids(hubspot, one("hs_object_id", "IN", values=["3", "40", "99"])) == ["3", "40"]
    between = one("hs_object_id", "BETWEEN", "9", highValue="11")
    assert search_ids(hubspot, between) == ["9", "10", "11"]
    assert len(search_ids(hubspot, one("hs_object_id", "NOT_IN", values=["3", "40"]))) == 55
    cutoff = ms(datetime(2015, 1, 1, tzinfo=UTC))
    early = [c["id"] for c in CONTACTS if int(c["properties"]["createdate"]) < int(cutoff)]
    assert search_ids(hubspot, one("createdate", "LT", cutoff)) == early
    assert search_ids(hubspot, one("createdate", "LT", "2015-01-01")) == early  # ISO too
    newest_first = [{"propertyName": "createdate", "direction": "DESCENDING"}]
    assert search_ids(hubspot, sorts=newest_first) == [c["id"] for c in reversed(CONTACTS)]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([[("hs_object_id", "GT", "0")]] * 6, "filter groups"),
        ([[("hs_object_id", "GT", str(i)) for i in range(11)]], "filters per group"),
        ([[("hs_object_id", "GT", str(i)) for i in range(9)]] * 3, "maximum number of filters"),
        ([[("no_such_property", "EQ", "x")]], "does not exist"),
    ],
)
def test_the_filter_limits_are_a_400_in_hubspots_shape(
    hubspot: HubSpot, groups: list[list[tuple[str, str, str]]], message: str
) -> None:
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": p, "operator": o, "value": v} for p, o, v in g]}
            for g in groups
        ]
    }
    answer = call(hubspot, "POST", SEARCH, body)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert message in answer.json()["message"]


def test_a_search_cannot_page_past_10000_or_ask_more_than_200(hubspot: HubSpot) -> None:
    assert call(hubspot, "POST", SEARCH, {"after": "10000"}).status_code == 400
    assert call(hubspot, "POST", SEARCH, {"limit": 201}).status_code == 400


def test_a_missing_or_wrong_token_is_401(hubspot: HubSpot) -> None:
    answer = call(hubspot, "POST", SEARCH, {}, token="pat-na1-wrong")
    assert answer.status_code == 401
    assert answer.json()["category"] == "INVALID_AUTHENTICATION"
    assert httpx.post(hubspot.url + SEARCH, json={}).status_code == 401


def test_rate_limit_and_faults(hubspot: HubSpot) -> None:
    hubspot.configure(rate_limit=2, retry_after="3")
    assert call(hubspot, "POST", SEARCH, {}).status_code == 200
    limited = call(hubspot, "POST", SEARCH, {})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["errorType"] == "RATE_LIMIT"
    hubspot.configure(faults=[{"path": SEARCH, "status": 502, "count": 2}])
    codes = [call(hubspot, "POST", SEARCH, {}).status_code for _ in range(3)]
    assert codes == [502, 502, 200]


def test_batch_update_gdpr_delete_and_archive(hubspot: HubSpot) -> None:
    path = "/crm/v3/objects/contacts/batch/update"
    inputs = [{"id": "1", "properties": {"email": "", "date_of_birth": "2001-02-03"}},
              {"id": "999", "properties": {"email": "x"}}]  # fmt: skip
    answer = call(hubspot, "POST", path, {"inputs": inputs})
    assert answer.status_code == 207
    assert answer.json()["errors"][0]["context"]["ids"] == ["999"]
    stored = hubspot.objects()["1"]["properties"]
    assert stored["email"] is None
    assert stored["date_of_birth"] == date_ms(date(2001, 2, 3))
    too_many = [{"id": str(i), "properties": {}} for i in range(101)]
    assert call(hubspot, "POST", path, {"inputs": too_many}).status_code == 400

    gdpr = "/crm/v3/objects/contacts/gdpr-delete"
    assert call(hubspot, "POST", gdpr, {"objectId": "2"}).status_code == 204
    assert call(hubspot, "POST", gdpr, {"objectId": "2"}).status_code == 404
    assert "2" not in hubspot.objects()

    assert call(hubspot, "DELETE", "/crm/v3/objects/contacts/3").status_code == 204
    assert hubspot.objects()["3"]["archived"] is True
    assert call(hubspot, "GET", "/crm/v3/objects/contacts/3").status_code == 404
    assert "3" not in search_ids(hubspot)


def test_batch_archive_hides_objects_that_archived_true_still_finds(hubspot: HubSpot) -> None:
    path = "/crm/v3/objects/contacts/batch/archive"
    answer = call(hubspot, "POST", path, {"inputs": [{"id": "4"}, {"id": "5"}, {"id": "999"}]})
    assert (answer.status_code, answer.content) == (204, b"")  # an unknown id too
    assert {hubspot.objects()[k]["archived"] for k in ("4", "5")} == {True}
    assert not {"4", "5"} & set(search_ids(hubspot))
    listed = call(hubspot, "GET", "/crm/v3/objects/contacts", params={"limit": "100"})
    assert not {"4", "5"} & {r["id"] for r in listed.json()["results"]}
    assert call(hubspot, "GET", "/crm/v3/objects/contacts/4").status_code == 404
    found = call(hubspot, "GET", "/crm/v3/objects/contacts/4", params={"archived": "true"})
    assert (found.status_code, found.json()["archived"]) == (200, True)
    live = call(hubspot, "GET", "/crm/v3/objects/contacts/6", params={"archived": "true"})
    assert live.status_code == 404  # archived=true finds only archived objects
    update = {"inputs": [{"id": "4", "properties": {"email": "x"}}]}
    assert call(hubspot, "POST", "/crm/v3/objects/contacts/batch/update", update).status_code == 207
    too_many = {"inputs": [{"id": str(i)} for i in range(101)]}
    assert call(hubspot, "POST", path, too_many).status_code == 400
    assert call(hubspot, "POST", path, {"inputs": []}).status_code == 400
    hubspot.configure(rate_limit=1, faults=[{"path": path, "status": 503, "count": 1}])
    assert call(hubspot, "POST", path, {"inputs": [{"id": "6"}]}).status_code == 429
    hubspot.configure(faults=[{"path": path, "status": 503, "count": 1}])
    assert call(hubspot, "POST", path, {"inputs": [{"id": "6"}]}).status_code == 503
    assert hubspot.objects()["6"]["archived"] is False  # a refused call does nothing


def test_list_pages_by_id(hubspot: HubSpot) -> None:
    seen: list[str] = []
    params: dict[str, str] = {"limit": "25", "properties": "email"}
    while True:
        answer = call(hubspot, "GET", "/crm/v3/objects/contacts", params=params).json()
        seen += [r["id"] for r in answer["results"]]
        if "paging" not in answer:
            break
        params["after"] = answer["paging"]["next"]["after"]
    assert seen == [c["id"] for c in CONTACTS]
