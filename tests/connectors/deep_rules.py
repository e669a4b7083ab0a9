"""A rule set hypothesis found (``test_a_derived_field_puts_every_record_in_its_bucket``)
whose bucket conditions, over a derived date and dates as text, come within a few levels
of what SQLite's parser takes (a stack of 100): its ``retained`` count overflowed it as
the sum of a CASE, and is taken as ``count(*) FILTER (WHERE ...)``."""

from keepfor.engine.anchors import EndOf, EndOfKind, FieldAnchor, MonthDay
from keepfor.engine.periods import Period
from keepfor.engine.rules import Action, Boundary, RetentionRule, RulePack, RuleSet
from keepfor.engine.terms import EarliestOf, LatestOf, Retain

DEEP_RULES = RuleSet(
    packs=(
        RulePack(
            id="p0",
            version="1",
            timezone="Europe/London",
            rules=(
                RetentionRule(
                    id="r0",
                    retain=LatestOf(
                        parts=(
                            LatestOf(
                                parts=(
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=0, days=0),
                                        optional=False,
                                    ),
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=0, days=0),
                                        optional=False,
                                    ),
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=16, days=0),
                                        optional=True,
                                    ),
                                ),
                                optional=False,
                            ),
                            Retain(
                                anchor=FieldAnchor(name="d1"),
                                period=Period(years=0, months=12, days=0),
                                optional=True,
                            ),
                            Retain(
                                anchor=FieldAnchor(name="d1"),
                                period=Period(years=0, months=0, days=0),
                                optional=False,
                            ),
                        ),
                        optional=True,
                    ),
                    applies_to={"flag": False},
                    boundary=Boundary.AFTER,
                    action=Action.FLAG,
                ),
                RetentionRule(
                    id="r1",
                    retain=EarliestOf(
                        parts=(
                            LatestOf(
                                parts=(
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=0, days=0),
                                        optional=True,
                                    ),
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=13, days=0),
                                        optional=True,
                                    ),
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=13, days=0),
                                        optional=False,
                                    ),
                                ),
                                optional=False,
                            ),
                            LatestOf(
                                parts=(
                                    Retain(
                                        anchor=FieldAnchor(name="d1"),
                                        period=Period(years=0, months=17, days=0),
                                        optional=False,
                                    ),
                                ),
                                optional=False,
                            ),
                        ),
                        optional=False,
                    ),
                    applies_to={"flag": False},
                    boundary=Boundary.AFTER,
                    action=Action.FLAG,
                ),
                RetentionRule(
                    id="r2",
                    retain=Retain(
                        anchor=FieldAnchor(name="d1"),
                        period=Period(years=0, months=12, days=0),
                        optional=True,
                    ),
                    applies_to={"flag": False},
                    boundary=Boundary.AFTER,
                    action=Action.FLAG,
                ),
                RetentionRule(
                    id="r3",
                    retain=LatestOf(
                        parts=(
                            Retain(
                                anchor=FieldAnchor(name="d1"),
                                period=Period(years=0, months=0, days=0),
                                optional=True,
                            ),
                            Retain(
                                anchor=FieldAnchor(name="l1"),
                                period=Period(years=6, months=0, days=0),
                                optional=False,
                            ),
                            Retain(
                                anchor=EndOf(
                                    kind=EndOfKind.FINANCIAL_YEAR,
                                    of="d2",
                                    financial_year_end=MonthDay(month=12, day=31),
                                ),
                                period=Period(years=0, months=0, days=0),
                                optional=False,
                            ),
                        ),
                        optional=False,
                    ),
                    applies_to={"category": "c"},
                    boundary=Boundary.ON,
                    action=Action.ANONYMISE,
                    financial_year_end=MonthDay(month=12, day=31),
                ),
            ),
            financial_year_end=MonthDay(month=3, day=31),
        ),
        RulePack(
            id="p1",
            version="1",
            timezone="Europe/London",
            rules=(
                RetentionRule(
                    id="r4",
                    retain=Retain(
                        anchor=EndOf(
                            kind=EndOfKind.FINANCIAL_YEAR,
                            of="d2",
                            financial_year_end=MonthDay(month=6, day=30),
                        ),
                        period=Period(years=0, months=17, days=1),
                        optional=True,
                    ),
                    applies_to={"category": "b"},
                    boundary=Boundary.AFTER,
                    action=Action.PURGE,
                    financial_year_end=MonthDay(month=6, day=30),
                ),
                RetentionRule(
                    id="r5",
                    retain=Retain(
                        anchor=EndOf(
                            kind=EndOfKind.CALENDAR_YEAR, of="l1", financial_year_end=None
                        ),
                        period=Period(years=6, months=1, days=1),
                        optional=False,
                    ),
                    applies_to={"category": "a"},
                    boundary=Boundary.ON,
                    action=Action.REVIEW,
                ),
                RetentionRule(
                    id="r6",
                    retain=EarliestOf(
                        parts=(
                            EarliestOf(
                                parts=(
                                    Retain(
                                        anchor=EndOf(
                                            kind=EndOfKind.MONTH, of="t1", financial_year_end=None
                                        ),
                                        period=Period(years=4, months=18, days=30),
                                        optional=False,
                                    ),
                                ),
                                optional=False,
                            ),
                        ),
                        optional=False,
                    ),
                    applies_to={"flag": True},
                    boundary=Boundary.ON,
                    action=Action.PURGE,
                ),
            ),
            financial_year_end=MonthDay(month=3, day=31),
        ),
    )
)
