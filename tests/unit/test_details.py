"""The organisation's details in course text: references, filling, placeholders, problems,
warnings, and how the values a version is read with enter its content hash."""

from __future__ import annotations

import pytest

from app.content.details import (
    fill,
    names_used,
    placeholder,
    reference_problems,
    references,
    unset_warnings,
    used_values,
)
from app.content.hashing import content_hash
from app.content.loader import load_tree, module_body

TEXT = """# Telling customers

Ask {{ privacy_team }} when unsure.

Your steps:

{{opt_out_steps}}
"""


def test_references_are_found_with_their_lines_with_or_without_spaces():
    assert references(TEXT) == [(3, "privacy_team"), (7, "opt_out_steps")]
    assert names_used([TEXT, "{{ privacy_team }}"]) == ["opt_out_steps", "privacy_team"]


def test_fill_puts_the_value_in_and_a_placeholder_where_it_is_unset():
    filled = fill(TEXT, {"privacy_team": "the privacy team (privacy@example.org)"})
    assert "Ask the privacy team (privacy@example.org) when unsure." in filled
    assert placeholder("opt_out_steps") in filled
    assert placeholder("opt_out_steps") == "**[Opt-out steps: not set yet by your organisation]**"
    assert "{{" not in filled


def test_a_value_is_markdown_and_is_not_filled_twice():
    filled = fill("{{ opt_out_steps }}", {"opt_out_steps": "1. Pause it.\n2. Note {{ x }}."})
    assert filled == "1. Pause it.\n2. Note {{ x }}."


def test_an_unknown_name_is_a_problem_at_its_line():
    problems = reference_problems("text\n\nAsk {{ privcy_team }}.\n", "c/01-a.md", 3)
    assert [str(p) for p in problems] == [
        "c/01-a.md:6: {{ privcy_team }} is not an organisation detail: the names are "
        "organisation_name, privacy_team, security_contact, speak_up_channel, "
        "approved_ai_tools, opt_out_steps, disclosure_voice, disclosure_chat, disclosure_email"
    ]


def test_unset_details_are_warnings_and_set_ones_are_silent():
    warnings = unset_warnings([("c/01-a.md", TEXT)], {"privacy_team": "x"})
    assert [w.as_warning() for w in warnings] == [
        "c/01-a.md:7: warning: {{ opt_out_steps }} (opt-out steps) is not set yet, so learners "
        "would see a placeholder: an admin sets it on the Organisation page"
    ]
    assert unset_warnings([("c/01-a.md", TEXT)], {"privacy_team": "x", "opt_out_steps": "y"}) == []


def test_used_values_keep_only_what_the_text_uses_with_none_for_unset():
    assert used_values([TEXT], {"privacy_team": "x", "speak_up_channel": "y"}) == {
        "opt_out_steps": None,
        "privacy_team": "x",
    }


def test_module_body_is_what_the_loader_reads(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "course.toml").write_text(
        'title = "C"\nsummary = "S"\nestimated_minutes = 5\n', encoding="utf-8"
    )
    source = "+++\nmin_minutes = 1\n+++\n\n# Title\n\nBody {{ privacy_team }}.\n\nMore.\n"
    (folder / "01-a.md").write_text(source, encoding="utf-8")
    (course,) = load_tree(tmp_path).courses
    assert module_body(course.modules[0].source) == course.modules[0].body


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "course.toml").write_text(
        'title = "C"\nsummary = "S"\nestimated_minutes = 5\n', encoding="utf-8"
    )
    (folder / "01-a.md").write_text("# A\n\nAsk {{ privacy_team }}.\n", encoding="utf-8")
    return load_tree(tmp_path).courses[0]


def test_the_values_used_are_part_of_the_content_hash(course):
    unset = content_hash(course, {"privacy_team": None})
    one = content_hash(course, {"privacy_team": "privacy@example.org"})
    other = content_hash(course, {"privacy_team": "dpo@example.org"})
    assert len({unset, one, other}) == 3
    assert one == content_hash(course, {"privacy_team": "privacy@example.org"})


def test_a_course_without_details_hashes_as_before(course):
    assert content_hash(course, {}) == content_hash(course)
