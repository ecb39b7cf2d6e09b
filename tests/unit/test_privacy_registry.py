"""The privacy registry classifies every stored column: a model that gains a column the
registry does not know fails here, so nothing new is kept without saying why."""

from __future__ import annotations

import re

from sqlalchemy import Column, Integer, MetaData, String, Table

import app.models  # noqa: F401  (every model on Base.metadata)
from app.config import Defaults
from app.db import Base
from app.privacy.registry import REGISTRY, stale, transparency_sections, unclassified


def test_every_stored_column_is_classified():
    assert unclassified(Base.metadata) == [], (
        "classify these columns in app/privacy/registry.py (personal data: what, why, how "
        "long, who sees it; or why they are not personal)"
    )


def test_the_registry_names_no_column_that_is_gone():
    assert stale(Base.metadata) == []


def test_a_new_column_is_reported_until_it_is_classified():
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table("users", metadata, Column("home_address", String(200)), extend_existing=True)
    Table("gadgets", metadata, Column("id", Integer, primary_key=True))
    assert unclassified(metadata) == ["gadgets.id", "users.home_address"]


def test_every_personal_item_says_what_why_how_long_and_who():
    for name, table in REGISTRY.items():
        for column, item in table.personal.items():
            assert table.heading, f"{name} holds personal data: give it a heading"
            for part in (item.what, item.why, item.kept_for, item.seen_by):
                assert part.strip(), f"{name}.{column}"
            for setting in re.findall(r"\b[A-Z][A-Z_]{3,}\b", item.kept_for):
                assert hasattr(Defaults, setting), f"{name}.{column} names {setting}"


def test_the_transparency_page_groups_by_heading_in_order():
    headings = [section.heading for section in transparency_sections()]
    assert headings[:2] == ["Your account", "Your training"]
    assert len(headings) == len(set(headings))
