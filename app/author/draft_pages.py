"""The studio's draft pages: the draft, a file's editor, and each change, as plain forms.

Every change posts the draft's revision it was drawn from; a stale one gets the editor back
with the trainer's text and a conflict message (409), never a silent loss.
"""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.author.views import STUDIO, bp
from app.authoring import drafts
from app.authoring.settings import COMMON_KEYS, read_settings, write_settings
from app.authoring.uploads import MAX_ZIP_BYTES, upload_course
from app.content.budget import shape_problems
from app.content.details import fill, used_values
from app.content.frontmatter import split_front_matter
from app.content.images import MAX_ASSET_BYTES, clean_upload, sniff_image
from app.content.markdown import render_markdown
from app.db import get_session
from app.errors import DomainError, NotFound
from app.fields import whole_number
from app.models import Course
from app.organisation.details import current_values
from app.progress.reading import find_course
from app.security import allow


def _revision() -> int:
    revision = whole_number(request.form.get("revision", ""), low=0)
    if revision is None:
        raise DomainError("This form has no draft revision: reload the page.", status=400)
    return revision


def _draft(slug: str):
    """For a change: the course and its draft (stored now if it was not yet)."""
    db = get_session()
    course = find_course(db, slug)
    return db, course, drafts.open_draft(db, current_user, course)


def _viewed(slug: str):
    """For a page: the course and its draft, storing nothing (GET changes no state)."""
    db = get_session()
    course = find_course(db, slug)
    return course, drafts.view_draft(db, course)


def _back(slug: str, path: str | None = None, line: int | None = None):
    if path is None:
        return redirect(url_for("author.draft", slug=slug), code=303)
    target = url_for("author.edit_file", slug=slug, path=path)
    return redirect(target + (f"#L{line}" if line else ""), code=303)


@bp.post("/courses/new")
@allow(*STUDIO)
def new_course():
    db = get_session()
    draft = drafts.new_course(
        db, current_user, request.form.get("slug", ""), request.form.get("title", "")
    )
    db.commit()
    slug = draft_slug(draft)
    flash(f"{slug} is created, hidden from learners: write it, check it, then publish.", "success")
    return _back(slug)


def draft_slug(draft) -> str:
    return get_session().get_one(Course, draft.course_id).slug


@bp.post("/courses/<slug>/take-over")
@allow(*STUDIO)
def take_over(slug: str):
    db = get_session()
    course = find_course(db, slug)
    drafts.take_over(db, current_user, course)
    drafts.open_draft(db, current_user, course)
    db.commit()
    flash(
        f"{slug} is managed in the studio now: courses sync refuses it unless told to take it "
        "back.",
        "info",
    )
    return _back(slug)


@bp.get("/courses/<slug>/draft")
@allow(*STUDIO)
def draft(slug: str):
    course, found = _viewed(slug)
    check = drafts.check_draft(found, slug)
    return render_template(
        "author/draft.html",
        course=course,
        draft=found,
        check=check,
        files=sorted(found.files, key=lambda f: (f.path.startswith("assets/"), f.path)),
        module_paths=[f.path for f in found.files if drafts.MODULE_FILE.match(f.path)],
        editable={f.path for f in found.files if drafts.text_path_problem(f.path) is None},
        max_image=MAX_ASSET_BYTES,
    )


def _render_editor(course, found, path: str, text: str, status: int = 200, error=None):
    check = drafts.check_draft(found, course.slug)
    problems, warnings = check.for_file(path)
    settings = read_settings(text) if path == "course.toml" else None
    return render_template(
        "author/edit.html",
        course=course,
        draft=found,
        path=path,
        text=text,
        lines=text.split("\n"),
        problems=problems,
        warnings=warnings,
        error=error,
        settings=settings,
        common_keys=COMMON_KEYS,
    ), status


@bp.get("/courses/<slug>/draft/files/<path:path>")
@allow(*STUDIO)
def edit_file(slug: str, path: str):
    course, found = _viewed(slug)
    current = next((f for f in found.files if f.path == path), None)
    if current is None and path != "quiz.md":
        raise NotFound("There is no such file in this draft.")
    if drafts.text_path_problem(path) is not None:
        raise NotFound("Only text files open in the editor.")
    text = current.data.decode("utf-8", errors="replace") if current else ""
    return _render_editor(course, found, path, text)


@bp.post("/courses/<slug>/draft/files/<path:path>")
@allow(*STUDIO)
def save_file(slug: str, path: str):
    db, course, found = _draft(slug)
    text = request.form.get("text", "")
    try:
        drafts.save_text(db, current_user, found, path, text, _revision())
    except drafts.Conflict as conflict:
        db.rollback()
        return _render_editor(
            course, drafts.view_draft(db, course), path, text, 409, conflict.message
        )
    db.commit()
    problems, _ = drafts.check_draft(found, slug).for_file(path)
    if problems:
        flash(f"Saved, with {len(problems)} problem(s) to fix in {path}.", "info")
    else:
        flash(f"Saved {path}.", "success")
    return _back(slug, path)


@bp.post("/courses/<slug>/draft/settings")
@allow(*STUDIO)
def save_settings(slug: str):
    db, course, found = _draft(slug)
    current = next(f for f in found.files if f.path == "course.toml")
    text = write_settings(current.data.decode(), request.form)
    drafts.save_text(db, current_user, found, "course.toml", text, _revision())
    db.commit()
    flash("Saved the course settings.", "success")
    return _back(slug, "course.toml")


@bp.post("/courses/<slug>/draft/modules")
@allow(*STUDIO)
def add_module(slug: str):
    db, course, found = _draft(slug)
    path = drafts.add_module(db, current_user, found, request.form.get("title", ""), _revision())
    db.commit()
    flash(f"Added {path}.", "success")
    return _back(slug, path)


@bp.post("/courses/<slug>/draft/files/<path:path>/rename")
@allow(*STUDIO)
def rename_file(slug: str, path: str):
    db, course, found = _draft(slug)
    new = drafts.rename_module(
        db, current_user, found, path, request.form.get("name", ""), _revision()
    )
    db.commit()
    flash(f"Renamed {path} to {new}.", "success")
    return _back(slug)


@bp.post("/courses/<slug>/draft/files/<path:path>/move")
@allow(*STUDIO)
def move_file(slug: str, path: str):
    db, course, found = _draft(slug)
    drafts.move_module(
        db, current_user, found, path, request.form.get("direction", ""), _revision()
    )
    db.commit()
    flash(f"Moved {path} {request.form.get('direction')}.", "success")
    return _back(slug)


@bp.post("/courses/<slug>/draft/files/<path:path>/delete")
@allow(*STUDIO)
def delete_file(slug: str, path: str):
    db, course, found = _draft(slug)
    drafts.delete_file(db, current_user, found, path, _revision())
    db.commit()
    flash(f"Removed {path} from the draft (earlier saves keep it).", "success")
    return _back(slug)


@bp.post("/courses/<slug>/draft/images")
@allow(*STUDIO)
def upload_image(slug: str):
    db, course, found = _draft(slug)
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        raise DomainError("Choose an image to upload.", status=400)
    data = upload.stream.read(MAX_ASSET_BYTES + 1)
    name, cleaned = clean_upload(data, upload.filename)
    path = drafts.save_asset(db, current_user, found, name, cleaned, _revision())
    db.commit()
    flash(
        f"Uploaded {path}, with any location and camera data removed. Use it as "
        f"![what it shows]({path})",
        "success",
    )
    return _back(slug)


@bp.get("/courses/<slug>/draft/assets/<name>")
@allow(*STUDIO)
def draft_asset(slug: str, name: str):
    course, found = _viewed(slug)
    current = next((f for f in found.files if f.path == f"assets/{name}"), None)
    if current is None:
        raise NotFound("There is no such image in this draft.")
    response = current_app.response_class(current.data, mimetype=sniff_image(current.data))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/courses/upload")
@allow(*STUDIO)
def upload_zip():
    db = get_session()
    upload = request.files.get("course_zip")
    if upload is None or not upload.filename:
        raise DomainError("Choose a zip of a course folder to upload.", status=400)
    data = upload.stream.read(MAX_ZIP_BYTES + 1)
    course, _ = upload_course(db, current_user, data, request.form.get("slug", ""))
    db.commit()
    flash(
        f"Uploaded the zip as the draft of {course.slug}: check it, preview it, publish.", "success"
    )
    return _back(course.slug)


@bp.post("/courses/<slug>/draft/render/<path:path>")
@allow(*STUDIO)
def render_live(slug: str, path: str):
    """The live preview of unsaved text: rendered and sanitised like publishing, with the
    problems the check finds in it. Stores nothing."""
    course, found = _viewed(slug)
    if drafts.text_path_problem(path) is not None:
        raise NotFound("Only text files have a preview.")
    text = request.form.get("text", "")[: drafts.MAX_MARKDOWN_BYTES + 1]
    check = drafts.check_draft(found, slug, {path: text.replace("\r\n", "\n").encode()})
    problems, warnings = check.for_file(path)
    html = ""
    if path.endswith(".md") and path != "quiz.md":
        lines = text.replace("\r\n", "\n").split("\n")
        front = split_front_matter(lines, path, [])
        body = "\n".join(lines[front.body_start if front else 0 :])
        if not shape_problems(body, path):  # never render past the rendering budget
            values = current_values(get_session())
            html = render_markdown(fill(body, used_values([body], values)))
    return jsonify(
        html=html,
        problems=[{"line": p.line, "text": str(p)} for p in problems],
        warnings=[{"line": w.line, "text": w.as_warning()} for w in warnings],
    )
