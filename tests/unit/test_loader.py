"""Course sources: every problem is reported with its file and line, nothing is half-loaded."""

from __future__ import annotations

import pytest
from helpers import PNG

from app.content import markdown
from app.content.hashing import content_hash
from app.content.loader import load_tree

GOOD_TOML = """title = "Handling call data"
summary = "What to do with recordings."
estimated_minutes = 10

[release]
notes = "First."
material = true
"""


def write_course(root, slug="call-data", files=None):
    folder = root / slug
    folder.mkdir(parents=True)
    contents = {"course.toml": GOOD_TOML, "01-intro.md": "# Intro\n\nHello.\n"}
    contents.update(files or {})
    for name, body in contents.items():
        if body is None:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")
    return folder


def problems(root):
    return [str(p) for p in load_tree(root).problems]


def test_shipped_courses_are_valid():
    from conftest import COURSES

    tree = load_tree(COURSES)
    assert tree.problems == []
    flagship = {c.slug: c for c in tree.courses}["ai-in-the-contact-center"]
    assert len(flagship.modules) >= 6
    assert flagship.meta.title.startswith("AI in the contact centre")


def test_a_good_course_loads_with_defaults(tmp_path):
    write_course(tmp_path, files={"02-more.md": "+++\nmin_minutes = 3\n+++\n# More\n\nText.\n"})
    tree = load_tree(tmp_path)
    assert tree.problems == []
    (course,) = tree.courses
    assert course.meta.pass_mark == 80 and course.meta.max_attempts == 3
    assert [m.stem for m in course.modules] == ["01-intro", "02-more"]
    assert course.modules[1].title == "More" and course.modules[1].min_minutes == 3
    assert course.modules[1].body.strip() == "Text."


def test_a_single_course_folder_can_be_checked(tmp_path):
    folder = write_course(tmp_path)
    tree = load_tree(folder)
    assert tree.problems == [] and not tree.whole_tree
    assert [c.slug for c in tree.courses] == ["call-data"]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("colour = 'red'\n" + GOOD_TOML, "call-data/course.toml:1: unknown key 'colour'"),
        (
            GOOD_TOML + "colour = 'red'\n",
            "call-data/course.toml:8: unknown key [release] 'colour' (known keys: material, notes)",
        ),
        (
            GOOD_TOML.replace("estimated_minutes = 10", "estimated_minutes = '10'"),
            "call-data/course.toml:3: estimated_minutes must be a whole number",
        ),
        (
            GOOD_TOML.replace("estimated_minutes = 10", "estimated_minutes = 0"),
            "call-data/course.toml:3: estimated_minutes must be between 1 and 600, not 0",
        ),
        (
            "pass_mark = 101\n" + GOOD_TOML,
            "call-data/course.toml:1: pass_mark must be a whole number from 0 to 100 "
            "(the percentage needed to pass), not 101",
        ),
        (
            GOOD_TOML.replace('title = "Handling call data"\n', ""),
            "call-data/course.toml:1: missing required key 'title'",
        ),
        (
            GOOD_TOML.replace('"Handling call data"', '"  "'),
            "call-data/course.toml:1: title must not be empty",
        ),
        (
            GOOD_TOML.replace('"Handling call data"', '"Call \u202edata"'),
            "call-data/course.toml:1: title contains a control, invisible or text-direction "
            "character (U+202E)",
        ),
        (
            GOOD_TOML.replace('"Handling call data"', '"' + "x" * 201 + '"'),
            "call-data/course.toml:1: title is 201 characters long; at most 200",
        ),
        (
            GOOD_TOML.replace("material = true", "material = 'yes'"),
            "call-data/course.toml:7: [release] material must be true or false",
        ),
        (GOOD_TOML + "[release.extra]\n", "call-data/course.toml:"),
        (
            GOOD_TOML.replace("[release]", "[release]\nsurprise = 1"),
            "call-data/course.toml:6: unknown key [release] 'surprise'",
        ),
        ("title = \n", "call-data/course.toml:1: invalid TOML: Invalid value"),
        (
            "obligations = ['GDPR!']\n" + GOOD_TOML,
            "call-data/course.toml:1: obligations must be a list of slugs",
        ),
        (
            "obligations = ['eu-ai-act-art-4', 'gdpr-art-99']\n" + GOOD_TOML,
            "call-data/course.toml:1: obligations unknown obligation 'gdpr-art-99': use one of "
            "eu-ai-act-art-4, gdpr-art-39, iso-27001-a-6-3, iso-42001",
        ),
        (
            GOOD_TOML.replace("estimated_minutes = 10", "estimated_minutes = true"),
            "call-data/course.toml:3: estimated_minutes must be a whole number",
        ),
    ],
)
def test_course_toml_problems_name_file_and_line(tmp_path, toml, expected):
    write_course(tmp_path, files={"course.toml": toml})
    found = problems(tmp_path)
    assert any(p.startswith(expected) for p in found), found
    assert load_tree(tmp_path).courses == []


def test_every_problem_is_reported_at_once(tmp_path):
    write_course(
        tmp_path,
        files={
            "course.toml": "colour = 1\n"
            + GOOD_TOML.replace("estimated_minutes = 10", "estimated_minutes = -1"),
            "01-intro.md": "No title here\n",
            "1-bad-name.md": "# X\n",
            "notes.txt": "stray",
        },
    )
    found = problems(tmp_path)
    assert len(found) == 5, found
    assert "call-data/course.toml:4: estimated_minutes must be between 1 and 600, not -1" in found
    assert "call-data/01-intro.md:1: a module starts with its title as a '# Title' line" in found
    assert any("1-bad-name.md:0: module files must be named NN-slug.md" in p for p in found)
    assert any("notes.txt:0: unexpected file" in p for p in found)


def test_bad_slug_and_duplicate_module_numbers(tmp_path):
    write_course(tmp_path, slug="Bad_Slug", files={"01-again.md": "# Again\n"})
    found = problems(tmp_path)
    assert any(p.startswith('Bad_Slug:0: "Bad_Slug" is not a valid course slug') for p in found)
    assert any("01-intro.md:0: module number 01 is already used by 01-again.md" in p for p in found)


def test_front_matter_problems(tmp_path):
    write_course(
        tmp_path,
        files={
            "01-intro.md": "+++\nmin_minutes = 'three'\nspeed = 2\n+++\n# Intro\n",
            "02-open.md": "+++\nmin_minutes = 1\n# Never closed\n",
            "03-bad.md": "+++\nmin_minutes = = 2\n+++\n# Bad\n",
        },
    )
    found = problems(tmp_path)
    assert "call-data/01-intro.md:2: min_minutes must be a whole number" in found
    assert any(p.startswith("call-data/01-intro.md:3: unknown key 'speed'") for p in found)
    assert (
        "call-data/02-open.md:1: front matter opened with +++ on line 1 is never closed: "
        "add a line with +++ after the settings" in found
    )
    assert "call-data/03-bad.md:2: invalid TOML: Invalid value" in found
    assert not any(p.startswith("call-data/02-open.md:3") for p in found)  # no noise after it


QUIZ_BODY = "## Q?\n- [x] right\n- [ ] wrong\n"


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        pytest.param(
            "+++\nmin_minutes = 1\n",
            1,
            "front matter opened with +++ on line 1 is "
            "never closed: add a line with +++ after the settings",
            id="unclosed",
        ),
        pytest.param(
            "+++\n\nshuffle = = 2\n+++\n", 3, "invalid TOML: Invalid value", id="bad-toml"
        ),
        pytest.param("+++\nspeed = \n+++\n", 2, "invalid TOML: Invalid value", id="no-value"),
        pytest.param(
            '+++\nmin_minutes = 1\nx = "abc\n+++\n',
            3,
            "invalid TOML: Unterminated string",
            id="at-end-of-document",
        ),
        pytest.param(
            "---\nmin_minutes: 1\n---\n",
            1,
            "front matter is TOML between +++ lines, not YAML between ---",
            id="yaml",
        ),
    ],
)
def test_a_module_and_the_quiz_report_bad_front_matter_alike(tmp_path, front, line, message):
    write_course(tmp_path, files={"01-intro.md": front + "# Intro\n", "quiz.md": front + QUIZ_BODY})
    found = problems(tmp_path)
    assert f"call-data/01-intro.md:{line}: {message}" in found, found
    assert f"call-data/quiz.md:{line}: {message}" in found, found


def test_a_module_and_the_quiz_report_unknown_keys_alike(tmp_path):
    front = "+++\n\nmin_minute = 2\n+++\n"
    write_course(tmp_path, files={"01-intro.md": front + "# Intro\n", "quiz.md": front + QUIZ_BODY})
    found = problems(tmp_path)
    assert (
        "call-data/01-intro.md:3: unknown key 'min_minute': did you mean min_minutes? "
        "(known keys: min_minutes)" in found
    ), found
    assert (
        "call-data/quiz.md:3: unknown key 'min_minute' (known keys: draw, max_attempts, "
        "pass_mark, shuffle)" in found
    ), found


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "pass_mark = 101",
            "pass_mark must be a whole number from 0 to 100 (the percentage "
            "needed to pass), not 101",
        ),
        (
            "max_attempts = -1",
            "max_attempts must be a whole number from 0 to 100 (0 means unlimited), not -1",
        ),
    ],
)
def test_course_toml_and_the_quiz_judge_shared_settings_alike(tmp_path, setting, message):
    write_course(
        tmp_path,
        files={
            "course.toml": setting + "\n" + GOOD_TOML,
            "quiz.md": "+++\n" + setting + "\n+++\n" + QUIZ_BODY,
        },
    )
    found = problems(tmp_path)
    assert f"call-data/course.toml:1: {message}" in found, found
    assert f"call-data/quiz.md:2: {message}" in found, found


def test_images_must_be_the_courses_own_assets(tmp_path):
    write_course(
        tmp_path,
        files={
            "01-intro.md": "# Intro\n\n![ok](assets/call.png)\n\n![gone](assets/missing.png)\n\n"
            "![tracker](https://tracker.example/p.gif)\n\n![up](../secret.png)\n\n"
            '<img src="https://x.example/a.png">\n',
            "assets/call.png": PNG,
        },
    )
    found = problems(tmp_path)
    assert (
        "call-data/01-intro.md:5: broken image: assets/missing.png is not in this course's "
        "assets/" in found
    )
    assert any(
        p.startswith("call-data/01-intro.md:7: remote image https://tracker.example") for p in found
    )
    assert any(p.startswith("call-data/01-intro.md:9: image ../secret.png") for p in found)
    assert any(p.startswith("call-data/01-intro.md:11: raw HTML link or image") for p in found)
    assert len(found) == 4


def test_links_are_checked_but_code_is_not(tmp_path):
    write_course(
        tmp_path,
        files={
            "01-intro.md": "# Intro\n\nSee [next](02-next.md), [gone](03-gone.md), "
            "[x](javascript:alert(1)), [y](JaVaScRiPt:alert(1)), [up](../x.md) and "
            "[web](https://example.org).\n\n```\n[not a link](04-nothing.md)\n```\n\n"
            "`[code](05-nothing.md)`\n\n[ref]: data:text/html,hi\n",
            "02-next.md": "# Next\n",
        },
    )
    found = problems(tmp_path)
    assert (
        "call-data/01-intro.md:3: broken link: 03-gone.md is not a module of this course" in found
    )
    assert sum("only http, https and mailto links are allowed" in p for p in found) == 3
    assert any("01-intro.md:3: link ../x.md" in p for p in found)
    assert not any("nothing.md" in p for p in found)


def test_asset_files_are_checked(tmp_path):
    write_course(
        tmp_path,
        files={
            "assets/fake.png": b"GIF89a not a png",
            "assets/big.jpg": b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024),
            "assets/bad name.png": PNG,
            "assets/script.svg": b"<svg/>",
        },
    )
    found = problems(tmp_path)
    assert "call-data/assets/fake.png:0: the file is not a PNG image" in found
    assert any(p.startswith("call-data/assets/big.jpg:0: file is 2,097,155 bytes") for p in found)
    assert sum("asset names are letters" in p for p in found) == 2


def test_oversized_and_non_utf8_files(tmp_path):
    write_course(
        tmp_path,
        files={
            "01-intro.md": "# Intro\n\n" + "word " * 60_000,
            "02-latin.md": "# Caf\xe9\n\nline two\n".encode("latin-1"),
        },
    )
    found = problems(tmp_path)
    assert any(p.startswith("call-data/01-intro.md:0: file is 300,") for p in found)
    assert "call-data/02-latin.md:1: not valid UTF-8: save the file as UTF-8" in found


def test_symlinks_and_stray_folders_are_refused(tmp_path):
    folder = write_course(tmp_path)
    (folder / "02-link.md").symlink_to("/etc/hostname")
    (folder / "drafts").mkdir()
    found = problems(tmp_path)
    assert "call-data/02-link.md:0: symbolic links are not allowed" in found
    assert any(p.startswith("call-data/drafts:0: unexpected folder") for p in found)


def test_a_symlinked_course_toml_is_refused(tmp_path):
    folder = write_course(tmp_path)
    real = tmp_path / "elsewhere.toml"
    (folder / "course.toml").rename(real)
    (folder / "course.toml").symlink_to(real)
    found = problems(tmp_path)
    assert "call-data/course.toml:0: symbolic links are not allowed" in found


def test_images_are_decoded_and_their_pixels_capped(tmp_path):
    import io

    from PIL import Image

    def png(width, height) -> bytes:
        out = io.BytesIO()
        Image.new("1", (width, height)).save(out, "PNG", optimize=True)
        return out.getvalue()

    bomb = png(60_000, 60_000)  # tens of kilobytes, 3.6 billion pixels
    assert len(bomb) < 1024 * 1024
    write_course(
        tmp_path,
        files={
            "assets/bomb.png": bomb,
            "assets/wide.png": png(20_000, 1_000),
            "assets/broken.png": PNG[:40],
            "assets/fine.png": png(800, 600),
        },
    )
    found = problems(tmp_path)
    assert "call-data/assets/bomb.png:0: the image declares far more than the 16,777,216 " in (
        "\n".join(found)
    )
    assert any(
        p.startswith("call-data/assets/wide.png:0: the image is 20,000 x 1,000 pixels")
        for p in found
    ), found
    assert any(
        p.startswith("call-data/assets/broken.png:0: the image cannot be decoded") for p in found
    )
    assert not any("fine.png" in p for p in found)


def test_missing_course_toml_and_empty_course(tmp_path):
    (tmp_path / "empty").mkdir()
    write_course(tmp_path, slug="no-modules", files={"01-intro.md": None})
    found = problems(tmp_path)
    assert "empty/course.toml:0: missing: every course needs course.toml" in found
    assert any(p.startswith("no-modules:0: a course needs at least one module") for p in found)


def test_readme_and_hidden_files_are_ignored(tmp_path):
    write_course(tmp_path, files={"README.md": "anything", ".DS_Store": b"\0"})
    assert problems(tmp_path) == []


def test_hash_ignores_line_endings_and_bom_but_not_content(tmp_path):
    write_course(tmp_path / "a")
    write_course(
        tmp_path / "b",
        files={
            "course.toml": "\ufeff" + GOOD_TOML.replace("\n", "\r\n"),
            "01-intro.md": "# Intro\r\n\r\nHello.\r\n\r\n",
        },
    )
    write_course(tmp_path / "c", files={"01-intro.md": "# Intro\n\nHello!\n"})
    hashes = [content_hash(load_tree(tmp_path / d).courses[0]) for d in "abc"]
    assert hashes[0] == hashes[1] != hashes[2]


def test_bracket_floods_that_would_stall_rendering_are_refused(tmp_path):
    write_course(
        tmp_path,
        files={
            "01-intro.md": "# Intro\n\nFine [link](https://example.org).\n\n" + "a [" * 300 + "\n",
            "02-flood.md": "# Flood\n\n" + ("[x " * 150 + "\n\n") * 25,
        },
    )
    found = problems(tmp_path)
    assert (
        "call-data/01-intro.md:5: this paragraph has 300 '[' characters; at most 200 are "
        "allowed" in found
    )
    assert (
        "call-data/02-flood.md:1: the file has 3,750 '[' characters; at most 3,000 are "
        "allowed" in found
    )


# --- the rendering budget (issue 15): pathological Markdown ------------------------------------
# Shapes python-markdown renders in quadratic time are refused with file:line before anything
# is rendered, and sync renders nothing inside its transaction.

QUIZ_HEAD = "+++\npass_mark = 80\n+++\n\n"

# Each of these took from 80 s to over 600 s to render at ~250 KiB; here they are small
# enough to fit the size limit, and refused for their shape.
PATHOLOGICAL = {
    # file-wide counts are reported at the file's first line; the title is a heading too
    "repeated <a": ("x <a " * 5000, 1, "'<' characters"),
    "autolinks": (" ".join(f"<https://e{i}.example/>" for i in range(1500)), 1, "'<' characters"),
    "headings": ("\n".join(f"## Part {i}\n\ntext" for i in range(400)), 3 + 299 * 3, "headings"),
    "nested quotes": ("\n".join(">" * i + " q" for i in range(1, 40)), 3 + 10, "nested 11 deep"),
    "??? blocks": (
        "\n".join(f'??? note "Part {i}"\n    body\n' for i in range(300)),
        3 + 200 * 3,
        "'???' or '!!!' blocks",
    ),
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_a_module_of_pathological_shape_is_refused_at_its_line(tmp_path, monkeypatch, name):
    body, line, phrase = PATHOLOGICAL[name]
    rendered = []
    monkeypatch.setattr(markdown, "_converter", lambda: rendered.append(1) or None)
    write_course(tmp_path, files={"01-intro.md": "# Intro\n\n" + body + "\n"})
    found = problems(tmp_path)
    assert any(p.startswith(f"call-data/01-intro.md:{line}: ") and phrase in p for p in found), (
        found
    )
    assert rendered == []  # refused before rendering


def test_a_quiz_of_pathological_shape_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    rendered = []
    monkeypatch.setattr(markdown, "_converter", lambda: rendered.append(1) or None)
    quiz = QUIZ_HEAD + "## A question?\n\n" + "x <a " * 5000 + "\n\n- [x] yes\n- [ ] no\n"
    write_course(tmp_path, files={"01-intro.md": None, "quiz.md": quiz})
    found = problems(tmp_path)
    assert any(p.startswith("call-data/quiz.md:1: the file has 5,000 '<'") for p in found), found
    assert rendered == []


def test_ordinary_modules_stay_within_the_budget(tmp_path):
    body = "\n\n".join(
        f"## Part {i}\n\n> A quote with [a link](https://example.com/{i}) and <https://e.example>."
        for i in range(100)
    )
    write_course(tmp_path, files={"01-intro.md": "# Intro\n\n" + body + "\n"})
    assert problems(tmp_path) == []
