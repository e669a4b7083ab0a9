"""The filter groups a predicate is pushed down as admit every object the predicate
holds for (a superset), and always fit HubSpot's limits: a hypothesis test over
generated predicates and objects, the groups judged by the test server's own search
semantics (``tests/servers/hubspot_search.py``), in process."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor.connectors.hubspot import from_epoch_ms
from keepfor.connectors.hubspot_client import search_body
from keepfor.connectors.hubspot_filters import Properties, as_groups, day_end_ms, plan_filters
from keepfor.connectors.streamed import FieldReader
from keepfor.engine.predicates import (
    All,
    Any_,
    BadValue,
    Equals,
    Never,
    Not,
    OnOrBefore,
    Present,
    Switch,
    holds,
)
from keepfor.engine.rules import ValueKind
from tests.servers.hubspot_search import check_groups, matches

TYPES = {
    "hs_object_id": "number",
    "lifecyclestage": "enumeration",
    "notes_last_updated": "datetime",
    "date_of_birth": "date",
}
NAMES = {"last_activity_at": "notes_last_updated"}
KINDS = {
    "category": ValueKind.VALUE,
    "lifecyclestage": ValueKind.VALUE,
    "last_activity_at": ValueKind.DATE,
    "date_of_birth": ValueKind.DATE,
}
PROPS = Properties(NAMES, {"category": "contact"}, TYPES, KINDS)
READER = FieldReader(fields=NAMES, constants={"category": "contact"}, timezone="UTC")
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Kiritimati"]
BASE = datetime(2020, 12, 31, 12, tzinfo=UTC)


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


moments = st.integers(-48 * 60, 48 * 60).map(lambda m: ms(BASE + timedelta(minutes=m * 2)))
days = st.integers(-3, 3).map(lambda d: ms(datetime(2021, 1, 1, tzinfo=UTC) + timedelta(days=d)))
objects = st.fixed_dictionaries(
    {
        "lifecyclestage": st.sampled_from(["lead", "LEAD", "customer", "", None]),
        "notes_last_updated": st.one_of(moments, st.sampled_from(["junk", "", " ", None])),
        "date_of_birth": st.one_of(days, st.none()),
    }
)
cutoffs = st.dates(date(2020, 12, 27), date(2021, 1, 4))
leaves = st.one_of(
    st.builds(
        Equals,
        st.sampled_from(["lifecyclestage", "category"]),
        st.sampled_from(["lead", "customer", "contact", 3]),
    ),
    st.builds(
        OnOrBefore,
        st.sampled_from(["last_activity_at", "date_of_birth"]),
        cutoffs,
        st.sampled_from(ZONES),
    ),
    st.builds(Present, st.sampled_from(list(KINDS))),
    st.builds(lambda f: Not(Present(f)), st.sampled_from(list(KINDS))),
    st.builds(BadValue, st.just("last_activity_at"), st.just(ValueKind.DATE)),
    st.just(Never()),
)
predicates = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(All, st.lists(inner, max_size=4).map(tuple)),
        st.builds(Any_, st.lists(inner, max_size=4).map(tuple)),
        st.builds(
            Switch,
            st.sampled_from(["lifecyclestage", "category"]),
            # the labels drawn unique first: a unique_by over (label, inner) retries by a
            # filter whose event names the inner strategy's repr, past Hypothesis's 30 kB
            st.lists(
                st.sampled_from(["lead", "customer", "contact"]), max_size=3, unique=True
            ).flatmap(lambda labels: st.tuples(*(st.tuples(st.just(x), inner) for x in labels))),
            inner,
        ),
    ),
    max_leaves=12,
)


def read(raw: dict[str, Any]) -> dict[str, Any]:
    """An object as the source reads it (epoch milliseconds made dates first)."""
    props = dict(raw)
    props["notes_last_updated"] = from_epoch_ms(props["notes_last_updated"], False)
    props["date_of_birth"] = from_epoch_ms(props["date_of_birth"], True)
    return READER.read(props, KINDS, KINDS)


@settings(max_examples=400, deadline=None)
@given(predicate=predicates, batch=st.lists(objects, min_size=1, max_size=12))
def test_the_pushed_groups_admit_every_object_the_predicate_holds_for(
    predicate: Any, batch: list[dict[str, Any]]
) -> None:
    groups = as_groups(plan_filters(predicate, PROPS))
    body = search_body(groups, [], 200, "12345")  # with the restart filter: still fits
    check_groups(body["filterGroups"], TYPES)
    for raw in batch:
        if holds(predicate, read(raw)):
            assert matches(raw, [{"filters": g} for g in groups], TYPES), (raw, groups)


def test_the_day_ends_in_the_zone_or_in_utc_for_a_date() -> None:
    cutoff = date(2020, 12, 31)
    berlin = day_end_ms(cutoff, "Europe/Berlin", date_only=False)
    assert berlin == int(datetime(2020, 12, 31, 22, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)
    only = day_end_ms(cutoff, "Europe/Berlin", date_only=True)
    assert only == int(datetime(2020, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)
    assert day_end_ms(date.max, "UTC", date_only=True) is None


def test_a_hubspot_section_is_checked(tmp_path: Any, monkeypatch: Any) -> None:
    import pytest

    from keepfor.connectors.config import load_config
    from keepfor.errors import SourceError

    config = tmp_path / "keepfor.toml"
    base = '[sources.crm]\nkind = "hubspot"\nurl = "http://127.0.0.1:1"\n'
    monkeypatch.delenv("HUBSPOT_TOKEN", raising=False)
    config.write_text(base + 'token = "${HUBSPOT_TOKEN}"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="HUBSPOT_TOKEN is not set"):
        load_config(config)
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-secret")
    config.write_text(base + 'token = "${HUBSPOT_TOKEN}"\nobjects = "deals"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="did you mean 'object'"):
        load_config(config)
    config.write_text(base + 'token = "${HUBSPOT_TOKEN}"\nobject = "deals"\n', encoding="utf-8")
    (source,) = load_config(config)
    assert source.settings.object == "deals"
    assert source.settings.token == "pat-na1-secret"
    assert "secret" not in repr(source)
    assert source.state_url is not None
