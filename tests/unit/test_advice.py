"""Authoring warnings: each rule, where it points, and that a warning never stops a course."""

from __future__ import annotations

from app.content.loader import load_tree

TOML = 'title = "Calls"\nsummary = "About calls."\nestimated_minutes = 5\n'
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def load(tmp_path, files):
    folder = tmp_path / "calls"
    (folder / "assets").mkdir(parents=True)
    (folder / "assets" / "flow.png").write_bytes(PNG)
    for name, body in {"course.toml": TOML, **files}.items():
        (folder / name).write_text(body, encoding="utf-8")
    return load_tree(folder)


def warnings(tmp_path, files):
    tree = load(tmp_path, files)
    assert tree.problems == [], "a warning must never be an error"
    assert len(tree.courses) == 1
    return [str(w) for w in tree.warnings]


def test_a_clean_course_has_no_warnings(tmp_path):
    module = "# Intro\n\n![The flow](assets/flow.png)\n\n## Consent\n\nSee [consent](#consent).\n"
    assert warnings(tmp_path, {"01-intro.md": module}) == []


def test_an_image_without_alt_text(tmp_path):
    module = "+++\nmin_minutes = 1\n+++\n# Intro\n\n![](assets/flow.png)\n![ ](assets/flow.png)\n"
    assert warnings(tmp_path, {"01-intro.md": module}) == [
        "calls/01-intro.md:6: image assets/flow.png has no alt text: write what it shows "
        "between the brackets, for learners using a screen reader",
        "calls/01-intro.md:7: image assets/flow.png has no alt text: write what it shows "
        "between the brackets, for learners using a screen reader",
    ]


def test_a_second_level_one_heading_but_not_in_code(tmp_path):
    module = "# Intro\n\nText.\n\n```\n# a comment in code\n```\n\n# Again\n"
    assert warnings(tmp_path, {"01-intro.md": module}) == [
        "calls/01-intro.md:9: a second '#' heading (the title is on line 1): a module has one "
        "'#' title; use '##' for its sections"
    ]


def test_links_to_headings_that_do_not_exist(tmp_path):
    files = {
        "01-intro.md": "# Intro\n\n[ok](#intro) [bad](#missing)\n"
        "[there](02-more.md#data-privacy) [nowhere](02-more.md#gone)\n",
        "02-more.md": "# More\n\n## Data privacy\n\n[back](01-intro.md#intro)\n",
        "quiz.md": "## Which?\n\nRead [this](02-more.md#nope).\n\n- [x] Yes\n- [ ] No\n",
    }
    found = warnings(tmp_path, files)
    assert found == [
        "calls/01-intro.md:3: link #missing leads to no heading: this module has no heading "
        "with that anchor (an anchor is the heading in lowercase, with hyphens for spaces)",
        "calls/01-intro.md:4: link 02-more.md#gone leads to no heading: 02-more.md has no "
        "heading with that anchor (an anchor is the heading in lowercase, with hyphens for "
        "spaces)",
        "calls/quiz.md:3: link 02-more.md#nope leads to no heading: 02-more.md has no heading "
        "with that anchor (an anchor is the heading in lowercase, with hyphens for spaces)",
    ]


def test_choose_all_that_apply_on_a_single_answer_question(tmp_path):
    quiz = (
        "## Which are right? (choose all that apply)\n- [x] One\n- [ ] Two\n\n"
        "## Which are right too? (choose all that apply)\n- [x] One\n- [x] Two\n- [ ] Three\n"
    )
    found = warnings(tmp_path, {"01-intro.md": "# Intro\n", "quiz.md": quiz})
    assert found == [
        "calls/quiz.md:1: the question asks to choose all that apply but has one right "
        "option: mark every right option with - [x], or reword the question"
    ]


def test_all_or_none_of_the_above_only_when_shuffled(tmp_path):
    body = "## Which?\n- [x] One\n- [ ] Two\n- [ ] None of the above\n"
    files = {"01-intro.md": "# Intro\n", "quiz.md": body}
    assert warnings(tmp_path, files) == []
    files["quiz.md"] = "+++\nshuffle = true\n+++\n" + body
    (found,) = warnings(tmp_path / "again", files)
    assert found.startswith("calls/quiz.md:4: 'None of the above' in a shuffled quiz")


def test_the_right_option_being_the_longest_in_most_questions(tmp_path):
    cue = "## Q{n}?\n- [x] The complete and careful right answer\n- [ ] Short\n- [ ] Brief\n\n"
    fair = "## Q{n}?\n- [x] Yes\n- [ ] A long and very detailed wrong answer\n\n"
    quiz = cue.format(n=1) + cue.format(n=2) + fair.format(n=3)
    (found,) = warnings(tmp_path, {"01-intro.md": "# Intro\n", "quiz.md": quiz})
    assert found.startswith(
        "calls/quiz.md:1: the right option is the longest in 2 of 3 single-answer questions "
        "(lines 1, 6)"
    )
    quiz = cue.format(n=1) + fair.format(n=2) + fair.format(n=3)
    assert warnings(tmp_path / "again", {"01-intro.md": "# Intro\n", "quiz.md": quiz}) == []


def test_an_image_path_with_a_space_is_an_error_not_an_empty_image(tmp_path):
    tree = load(tmp_path, {"01-intro.md": "# Intro\n\n![The flow](assets/my flow.png)\n"})
    assert [str(p) for p in tree.problems] == [
        "calls/01-intro.md:3: image 'assets/my flow.png' does not resolve to an asset: refer "
        "to it as assets/NAME, a name without spaces (letters, digits and ._-)"
    ]
    assert tree.courses == []
