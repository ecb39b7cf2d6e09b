"""Reading course sources (DESIGN.md §4) into plain dataclasses, checking everything.

``load_tree(path)`` never raises on bad content: it returns every course it could read and
every problem it found, each as ``file:line: message``. Nothing here touches the database.
File sizes are capped before anything is parsed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from app.content.advice import MarkdownFile, course_warnings
from app.content.budget import RENDER_SECONDS_MAX, shape_problems, timed_render
from app.content.details import reference_problems, references
from app.content.frontmatter import (
    FIRST_SETTING_LINE,
    key_line,
    parse_toml,
    report_unknown_keys,
    setting_problem,
    split_front_matter,
)
from app.content.images import COURSE_IMAGE, MAX_ASSET_BYTES, MEDIA_TYPES, ImageRefused, decode
from app.content.links import check_links
from app.content.markdown import ASSET_NAME, render_markdown
from app.content.problems import Problem
from app.content.quiz import Quiz, parse_quiz
from app.fields import RELEASE_NOTES_MAX, SUMMARY_MAX, TITLE_MAX, find_unsafe
from app.obligations.registry import obligation_problem

SLUG = re.compile(r"^[a-z0-9-]{1,64}$")
MODULE_FILE = re.compile(r"^(\d{2})-([a-z0-9-]{1,60})\.md$")
OBLIGATION = re.compile(r"^[a-z0-9-]{1,64}$")

MAX_TOML_BYTES = 64 * 1024
MAX_MARKDOWN_BYTES = 256 * 1024

IGNORED_FILES = {"README.md"}


@dataclass(frozen=True)
class CourseMeta:
    title: str
    summary: str
    estimated_minutes: int
    pass_mark: int = 80
    max_attempts: int = 3
    recertify_months: int = 12
    obligations: tuple[str, ...] = ()
    release_notes: str = ""
    material: bool = True


@dataclass(frozen=True)
class ModuleSource:
    position: int
    stem: str
    title: str
    body: str  # Markdown after the front matter and the title line
    source: str  # the whole normalised file, as hashed
    min_minutes: int = 0
    # The body rendered and sanitised under the rendering budget (what `courses check`
    # renders); sync renders the same checked body with the organisation's details filled in.
    html: str = ""


@dataclass(frozen=True)
class AssetSource:
    name: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class CourseSource:
    slug: str
    meta: CourseMeta
    metadata_source: str
    modules: tuple[ModuleSource, ...]
    assets: tuple[AssetSource, ...] = ()
    quiz_source: str | None = None
    quiz: Quiz | None = None
    folder: str = ""  # the folder as problems name it, e.g. "call-data"; not hashed


@dataclass
class LoadedTree:
    courses: list[CourseSource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # advice.py: never stop a sync
    whole_tree: bool = True  # False when PATH was a single course folder


# Keys of course.toml: name -> (types, required, check returning an error or None)
def _int_range(low: int, high: int):
    def check(value) -> str | None:
        if not low <= value <= high:
            return f"must be between {low} and {high}, not {value}"
        return None

    return check


def _text(limit: int, *, required: bool = True, multiline: bool = False):
    def check(value: str) -> str | None:
        if required and not value.strip():
            return "must not be empty"
        if len(value) > limit:
            return f"is {len(value)} characters long; at most {limit} are allowed"
        if (found := find_unsafe(value, multiline=multiline)) is not None:
            return f"contains a control, invisible or text-direction character (U+{ord(found):04X})"
        return None

    return check


def _obligations(value: list) -> str | None:
    if not all(isinstance(v, str) and OBLIGATION.match(v) for v in value):
        return 'must be a list of slugs such as "eu-ai-act-art-4"'
    if len(set(value)) != len(value):
        return "lists an obligation twice"
    return next((p for p in map(obligation_problem, value) if p is not None), None)


COURSE_KEYS = {
    "title": (str, True, _text(TITLE_MAX)),
    "summary": (str, True, _text(SUMMARY_MAX, multiline=True)),
    "estimated_minutes": (int, True, _int_range(1, 600)),
    "pass_mark": (int, False, partial(setting_problem, "pass_mark")),
    "max_attempts": (int, False, partial(setting_problem, "max_attempts")),
    "recertify_months": (int, False, _int_range(0, 120)),
    "obligations": (list, False, _obligations),
    "release": (dict, False, None),
}
RELEASE_KEYS = {
    "notes": (str, False, _text(RELEASE_NOTES_MAX, required=False, multiline=True)),
    "material": (bool, False, None),
}
MODULE_KEYS = {"min_minutes": (int, False, _int_range(0, 120))}
TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def load_tree(path: Path) -> LoadedTree:
    """Read every course under ``path`` (or the single course ``path`` is), with all problems."""
    tree = LoadedTree()
    root = path
    if not path.is_dir():
        tree.problems.append(Problem(str(path), 0, "not a folder"))
        return tree
    if (path / "course.toml").exists():
        tree.whole_tree = False
        root = path.parent
        folders = [path]
    else:
        folders = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    for folder in folders:
        if folder.is_symlink():
            tree.problems.append(Problem(_rel(folder, root), 0, "symbolic links are not allowed"))
        elif folder.is_dir():
            course = _load_course(folder, root, tree.problems, tree.warnings)
            if course is not None:
                tree.courses.append(course)
    if not tree.courses and not tree.problems:
        tree.problems.append(Problem(str(path), 0, "no course folders (with a course.toml) found"))
    return tree


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _load_course(
    folder: Path, root: Path, problems: list[Problem], warnings: list[Problem]
) -> CourseSource | None:
    found: list[Problem] = []
    slug = folder.name
    if not SLUG.match(slug):
        found.append(
            Problem(
                _rel(folder, root),
                0,
                f'"{slug}" is not a valid course slug: use 1-64 lowercase '
                "letters, digits and hyphens",
            )
        )
    toml_path = folder / "course.toml"
    if toml_path.is_symlink():
        found.append(Problem(_rel(toml_path, root), 0, "symbolic links are not allowed"))
        problems.extend(found)
        return None
    if not toml_path.is_file():
        found.append(Problem(_rel(toml_path, root), 0, "missing: every course needs course.toml"))
        problems.extend(found)
        return None

    meta_text = _read_text(toml_path, root, MAX_TOML_BYTES, found)
    meta = _parse_meta(meta_text, _rel(toml_path, root), found) if meta_text is not None else None

    module_files: dict[int, Path] = {}
    quiz_path = None
    asset_dir = None
    for entry in sorted(folder.iterdir()):
        rel = _rel(entry, root)
        if entry.name.startswith(".") or entry.name in IGNORED_FILES or entry == toml_path:
            continue
        if entry.is_symlink():
            found.append(Problem(rel, 0, "symbolic links are not allowed"))
        elif entry.is_dir():
            if entry.name == "assets":
                asset_dir = entry
            else:
                found.append(Problem(rel, 0, "unexpected folder: only assets/ may sit in a course"))
        elif entry.name == "quiz.md":
            quiz_path = entry
        elif match := MODULE_FILE.match(entry.name):
            number = int(match.group(1))
            if number == 0:
                found.append(Problem(rel, 0, "module numbers start at 01"))
            elif number in module_files:
                found.append(
                    Problem(
                        rel,
                        0,
                        f"module number {match.group(1)} is already used by "
                        f"{module_files[number].name}",
                    )
                )
            else:
                module_files[number] = entry
        elif entry.suffix == ".md":
            found.append(
                Problem(
                    rel,
                    0,
                    "module files must be named NN-slug.md (two digits, "
                    "a hyphen, lowercase letters, digits, hyphens)",
                )
            )
        else:
            found.append(
                Problem(
                    rel,
                    0,
                    "unexpected file: a course holds course.toml, "
                    "NN-slug.md modules, quiz.md and assets/",
                )
            )

    assets = _load_assets(asset_dir, root, found) if asset_dir else {}
    module_stems = {p.stem for p in module_files.values()}
    modules = []
    for number in sorted(module_files):
        module = _load_module(module_files[number], number, root, assets, module_stems, found)
        if module is not None:
            modules.append(module)
    if not module_files:
        found.append(
            Problem(
                _rel(folder, root),
                0,
                "a course needs at least one module (a file such as 01-introduction.md)",
            )
        )

    quiz_text: str | None = None
    quiz: Quiz | None = None
    if quiz_path is not None:
        quiz_text = _read_text(quiz_path, root, MAX_MARKDOWN_BYTES, found)
        if quiz_text is not None:
            quiz = _load_quiz(quiz_text, _rel(quiz_path, root), assets, module_stems, found)

    warnings.extend(
        course_warnings(
            [
                _markdown_file(m.source, _rel(module_files[m.position], root), m.stem)
                for m in modules
            ],
            quiz,
            _markdown_file(quiz_text, _rel(quiz_path, root), "quiz")
            if quiz_path and quiz_text
            else None,
        )
    )
    problems.extend(found)
    if found or meta is None or meta_text is None:
        return None
    return CourseSource(
        slug=slug,
        meta=meta,
        metadata_source=meta_text,
        modules=tuple(modules),
        assets=tuple(assets[name] for name in sorted(assets)),
        quiz_source=quiz_text,
        quiz=quiz,
        folder=_rel(folder, root),
    )


def _markdown_file(text: str, rel: str, stem: str) -> MarkdownFile:
    """The file as the warnings read it: after its front matter, with the lines it skipped."""
    lines = text.split("\n")
    front = split_front_matter(lines, rel, [])
    offset = front.body_start if front is not None else 0
    return MarkdownFile(rel, stem, "\n".join(lines[offset:]), offset)


def _load_quiz(
    text: str,
    rel: str,
    assets: dict[str, AssetSource],
    module_stems: set[str],
    found: list[Problem],
) -> Quiz | None:
    check_links(text, rel, 0, assets, module_stems, found)
    found.extend(
        Problem(
            rel,
            line,
            f"{{{{ {name} }}}}: organisation details are filled in modules only, not in "
            "quiz.md; say it in words here",
        )
        for line, name in references(text)
    )
    if shape := shape_problems(text, rel):
        found.extend(shape)
        return None  # not parsed: parsing renders every fragment
    (quiz, quiz_problems), slow = _timed_parse(text, rel)
    found.extend(quiz_problems)
    if slow is not None:
        found.append(slow)
        return None
    return quiz


def _timed_parse(text: str, rel: str):
    started = time.perf_counter()
    parsed = parse_quiz(text, rel)
    spent = time.perf_counter() - started
    if spent <= RENDER_SECONDS_MAX:
        return parsed, None
    return parsed, Problem(
        rel,
        1,
        f"reading this quiz took {spent:.0f} s, more than the {RENDER_SECONDS_MAX:.0f} s "
        "allowed: simplify or split it",
    )


def _read_text(path: Path, root: Path, limit: int, found: list[Problem]) -> str | None:
    """The file as normalised text (UTF-8, no BOM, LF line ends), or None with a problem."""
    rel = _rel(path, root)
    size = path.stat().st_size
    if size > limit:
        found.append(Problem(rel, 0, f"file is {size:,} bytes; at most {limit:,} are allowed"))
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        found.append(Problem(rel, line, "not valid UTF-8: save the file as UTF-8"))
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip("\n") + "\n"


def _check_keys(
    data: dict,
    spec: dict,
    lines: Sequence[str],
    rel: str,
    found: list[Problem],
    *,
    first_line: int = 1,
    table: str | None = None,
) -> dict:
    """Check ``data`` against ``spec``; return the valid values."""
    valid = {}
    where = f"[{table}] " if table else ""
    report_unknown_keys(data, spec, lines, rel, found, first_line=first_line, table=table)
    for key, (kind, required, check) in spec.items():
        line = key_line(lines, key, first_line=first_line, table=table)
        if key not in data:
            if required:
                found.append(Problem(rel, line, f"missing required key {key!r}"))
            continue
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            found.append(Problem(rel, line, f"{where}{key} must be {TYPE_NAMES[kind]}"))
            continue
        if check is not None and (error := check(value)):
            found.append(Problem(rel, line, f"{where}{key} {error}"))
            continue
        valid[key] = value
    return valid


def _parse_meta(text: str, rel: str, found: list[Problem]) -> CourseMeta | None:
    data = parse_toml(text, rel, found)
    if data is None:
        return None
    before = len(found)
    lines = text.split("\n")
    values = _check_keys(data, COURSE_KEYS, lines, rel, found)
    release = values.pop("release", {})
    release = _check_keys(release, RELEASE_KEYS, lines, rel, found, table="release")
    if len(found) > before:
        return None
    return CourseMeta(
        **{k: v for k, v in values.items() if k != "obligations"},
        obligations=tuple(values.get("obligations", ())),
        release_notes=release.get("notes", ""),
        material=release.get("material", True),
    )


def module_body(source: str) -> str:
    """The body of a valid module's source: what follows its front matter and title line, as
    ``ModuleSource.body`` holds it (for re-rendering a stored version)."""
    lines = source.split("\n")
    front = split_front_matter(lines, "", [])
    body_lines = lines[front.body_start if front is not None else 0 :]
    first = next((i for i, line in enumerate(body_lines) if line.strip()), None)
    if first is None:
        return "\n"
    return "\n".join(body_lines[first + 1 :]).strip("\n") + "\n"


def _load_module(path, number, root, assets, module_stems, found) -> ModuleSource | None:
    rel = _rel(path, root)
    text = _read_text(path, root, MAX_MARKDOWN_BYTES, found)
    if text is None:
        return None
    before = len(found)
    lines = text.split("\n")
    front = split_front_matter(lines, rel, found)
    if front is None:
        return None  # never closed: the whole file would be read as settings
    settings = _check_keys(
        front.data, MODULE_KEYS, front.lines, rel, found, first_line=FIRST_SETTING_LINE
    )
    offset = front.body_start
    body_lines = lines[offset:]
    rest = "\n".join(body_lines)
    first = next((i for i, line in enumerate(body_lines) if line.strip()), None)
    title = ""
    if first is None:
        found.append(Problem(rel, offset + 1, "module is empty: start it with a '# Title' line"))
    elif not re.match(r"^# \S", body_lines[first]):
        found.append(
            Problem(rel, offset + first + 1, "a module starts with its title as a '# Title' line")
        )
    else:
        title = body_lines[first][2:].strip()
        if error := _text(200)(title):
            found.append(Problem(rel, offset + first + 1, f"title {error}"))
    check_links(rest, rel, offset, assets, module_stems, found)
    found.extend(reference_problems(rest, rel, offset))
    found.extend(shape_problems(rest, rel, offset))
    if len(found) > before or first is None:
        return None  # not rendered: a file over the rendering budget is never rendered
    after_title = "\n".join(body_lines[first + 1 :])
    body = after_title.strip("\n") + "\n"
    # The file's line just before the body's first (blank lines after the title are dropped).
    body_offset = (
        offset
        + first
        + 1
        + after_title.count("\n", 0, len(after_title) - len(after_title.lstrip("\n")))
    )
    html, slow = timed_render(render_markdown, body, rel, body_offset + 1)
    if slow is not None:
        found.append(slow)
        return None
    return ModuleSource(
        position=number,
        stem=path.stem,
        title=title,
        body=body,
        source=text,
        min_minutes=settings.get("min_minutes", 0),
        html=html,
    )


def _load_assets(folder: Path, root: Path, found: list[Problem]) -> dict[str, AssetSource]:
    assets: dict[str, AssetSource] = {}
    for entry in sorted(folder.iterdir()):
        rel = _rel(entry, root)
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_file():
            found.append(Problem(rel, 0, "assets/ holds image files only (no links or folders)"))
            continue
        if not ASSET_NAME.match(entry.name):
            found.append(
                Problem(
                    rel,
                    0,
                    "asset names are letters, digits and ._-, ending in .png, .jpg, .jpeg or .webp",
                )
            )
            continue
        size = entry.stat().st_size
        if size > MAX_ASSET_BYTES:
            found.append(
                Problem(rel, 0, f"file is {size:,} bytes; at most {MAX_ASSET_BYTES:,} are allowed")
            )
            continue
        media_type = MEDIA_TYPES[entry.suffix.lower().lstrip(".")]
        data = entry.read_bytes()
        try:
            decode(data, COURSE_IMAGE, expected=media_type)
        except ImageRefused as refused:
            found.append(Problem(rel, 0, refused.reason))
            continue
        assets[entry.name] = AssetSource(entry.name, media_type, data)
    return assets
