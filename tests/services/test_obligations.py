"""The obligations registry: course.toml may name only its entries, and each obligation's
coverage (who must be covered, who is, who is not and why, by department) on the HR page and
from the command line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import list_courses, login, read_in_turn
from sqlalchemy import select

from app.content.sync import sync_courses
from app.db import utcnow
from app.models import CourseVersion, Role
from app.obligations.coverage import NOT_ASSIGNED, obligation_coverage
from app.obligations.registry import REGISTRY
from app.progress.reading import current_version, find_course

REFRESHER = "ai-data-refresher"


@pytest.fixture
def staff(db, make_user, refresher_without_quiz):
    """Support: Ana completed the refresher, Ben began it; Sales: Cleo never started."""
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    course = find_course(db, REFRESHER)
    people = {}
    for name, department in (
        ("Ana Silva", "Support"),
        ("Ben Okafor", "Support"),
        ("Cleo Marsh", "Sales"),
    ):
        people[name] = make_user(name=name, department=department)
    ana_version = current_version(db, people["Ana Silva"], course)
    read_in_turn(db, people["Ana Silva"], ana_version.modules)
    ben_version = current_version(db, people["Ben Okafor"], course)
    read_in_turn(db, people["Ben Okafor"], ben_version.modules[:1])
    make_user(name="Hana Reyes", department="Support", roles={Role.HR})  # does not train
    db.commit()
    return people


def test_the_registry_holds_the_obligations_the_shipped_courses_name(db, staff):
    assert set(REGISTRY) == {"eu-ai-act-art-4", "gdpr-art-39", "iso-27001-a-6-3", "iso-42001"}
    for obligation in REGISTRY.values():
        assert (
            obligation.requirement and obligation.source and obligation.url.startswith("https://")
        )


def test_coverage_by_department_with_reasons(db, staff):
    version = db.scalar(select(CourseVersion))
    report = {c.obligation.slug: c for c in obligation_coverage(db, utcnow())}
    for slug in version.obligations:
        coverage = report[slug]
        assert (coverage.required, coverage.covered) == (3, 1)
        assert version.title in coverage.courses
        departments = {d.department: d for d in coverage.departments}
        assert (departments["Support"].required, departments["Support"].covered) == (2, 1)
        assert [(g.name, g.why) for g in departments["Support"].gaps] == [
            ("Ben Okafor", "not completed yet")
        ]
        assert [(g.name, g.why) for g in departments["Sales"].gaps] == [
            ("Cleo Marsh", NOT_ASSIGNED)
        ]
    unmet = [slug for slug in REGISTRY if slug not in version.obligations]
    for slug in unmet:
        assert report[slug].covered == 0 and report[slug].courses == []
    # A year and more later, Ana's completion has expired: she is no longer covered.
    later = utcnow() + timedelta(days=800)
    coverage = {c.obligation.slug: c for c in obligation_coverage(db, later)}
    gaps = {g.name: g.why for d in coverage[version.obligations[0]].departments for g in d.gaps}
    assert gaps["Ana Silva"] == "completion expired"


def test_the_hr_page_and_the_command_show_coverage(app, client, db, staff, make_user):
    login(client, make_user(roles={Role.HR}))
    page = client.get("/hr/obligations").get_data(as_text=True)
    assert "EU AI Act, Article 4: AI literacy" in page and "1 of 3 covered" in page
    assert "Cleo Marsh</a>: not assigned a course that meets it" in page
    assert "/hr/obligations" in client.get("/hr/").get_data(as_text=True)
    result = app.test_cli_runner().invoke(
        args=["obligations", "report", "--obligation", "gdpr-art-39"]
    )
    assert result.exit_code == 0, result.output
    assert "gdpr-art-39: GDPR, Article 39(1)(b)" in result.output
    assert "Support: 1 of 2 covered" in result.output
    assert "not covered: Ben Okafor (not completed yet)" in result.output
    unknown = app.test_cli_runner().invoke(args=["obligations", "report", "--obligation", "x"])
    assert unknown.exit_code == 1 and "unknown obligation" in unknown.output
