"""The learner's pages: dashboard, course, module, marking read, images."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from helpers import csrf_token, list_courses, page_statements, statements_run
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.content.loader import load_tree
from app.content.sync import sync_courses
from app.db import utcnow
from app.models import Asset, CourseVersion, ModuleProgress

FLAGSHIP = "ai-in-the-contact-center"
OPENED = re.compile(r'name="opened" value="([^"]+)"')


def module_urls(client):
    page = client.get(f"/courses/{FLAGSHIP}").get_data(as_text=True)
    found = re.findall(rf'href="(/courses/{FLAGSHIP}/v1/\d\d-[a-z0-9-]+)"', page)
    return list(dict.fromkeys(found))


def read(client, url, opened=None):
    page = client.get(url).get_data(as_text=True)
    opened = opened or OPENED.search(page).group(1)
    return client.post(url + "/read", data={"opened": opened, "csrf_token": csrf_token(client)})


def backdate_opened(app, monkeypatch, minutes):
    """Let ``minutes`` more pass each time reading looks at the clock (a learner reading one
    module after another: reading time is counted once)."""
    import app.progress.reading as reading

    steps = itertools.count(1)
    monkeypatch.setattr(
        reading, "utcnow", lambda: utcnow() + timedelta(minutes=minutes * next(steps))
    )


def test_dashboard_shows_courses_with_progress(client, signed_in, synced):
    signed_in()
    page = client.get("/dashboard").get_data(as_text=True)
    assert "AI in the contact centre: lessons from the Patagonia lawsuit" in page
    assert "Customer data and AI tools: a ten-minute refresher" in page
    assert "0 of 6 modules read" in page and "Not started" in page


def test_course_page_lists_modules_time_and_version(client, signed_in, synced, db):
    signed_in()
    page = client.get(f"/courses/{FLAGSHIP}").get_data(as_text=True)
    version = db.scalar(
        select(CourseVersion)
        .where(CourseVersion.number == 1)
        .where(CourseVersion.title.like("AI in%"))
    )
    assert f"about {version.estimated_minutes} minutes" in page
    assert version.short_hash not in page  # the content hash means nothing to a learner
    assert len(module_urls(client)) == len(version.modules)
    assert "Start the course" in page


def test_module_page_renders_content_with_pager(client, signed_in, synced):
    signed_in()
    first, second = module_urls(client)[:2]
    page = client.get(second).get_data(as_text=True)
    assert "Module 2 of 6" in page
    assert f'rel="prev" href="{first}"' in page
    assert "<h2" in page and "Mark as read" in page
    assert "Checklist" in page


def test_reading_a_module_records_progress_and_moves_on(
    client, signed_in, synced, db, app, monkeypatch
):
    user = signed_in()
    urls = module_urls(client)
    backdate_opened(app, monkeypatch, 30)
    response = read(client, urls[0])
    assert response.status_code == 303 and response.location == urls[1] + "#main"
    assert (
        db.scalar(
            select(func.count())
            .select_from(ModuleProgress)
            .where(ModuleProgress.user_id == user.id)
        )
        == 1
    )
    page = client.get("/dashboard").get_data(as_text=True)
    assert "1 of 6 modules read" in page and "In progress" in page
    assert "You read this module on" in client.get(urls[0]).get_data(as_text=True)


def test_reading_too_soon_is_refused_with_the_time_left(client, signed_in, synced, db):
    signed_in()
    version = db.scalar(select(CourseVersion).where(CourseVersion.title.like("AI in%")))
    module = next(m for m in version.modules if m.min_minutes)
    response = read(client, f"/courses/{FLAGSHIP}/v1/{module.stem}")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f"at least {module.min_minutes} minutes of reading" in page
    assert "You can mark it as read in" in page
    # Nothing read, but the opening is kept for when the learner tries again.
    db.rollback()  # a fresh snapshot
    progress = db.scalar(select(ModuleProgress))
    assert progress.completed_at is None and progress.first_opened_at is not None


def _too_early_page(client, db):
    version = db.scalar(select(CourseVersion).where(CourseVersion.title.like("AI in%")))
    module = next(m for m in version.modules if m.min_minutes)
    return module, f"/courses/{FLAGSHIP}/v1/{module.stem}"


def test_the_error_sits_beside_the_button_and_the_form_returns_to_it(client, signed_in, synced, db):
    signed_in()
    module, url = _too_early_page(client, db)
    page = client.get(url).get_data(as_text=True)
    assert f'action="{url}/read#read-box"' in page
    assert 'id="reading-clock"' in page and "reading.js" in page
    assert re.search(r"You can mark it as read in \d+ min \d+ s \(from \d\d:\d\d UTC\)", page)
    page = read(client, url).get_data(as_text=True)
    box = page[page.index('id="read-box"') :]
    # Inside the read box, before the button it describes, and focusable.
    error = box.index('id="read-error" tabindex="-1"')
    assert error < box.index('aria-describedby="read-error">Mark as read')
    assert 'role="alert"' in box[: error + 60] or 'role="alert" id="read-error"' in box


def test_an_early_click_does_not_restart_the_clock(client, signed_in, synced, db, app, monkeypatch):
    import app.progress.reading as reading

    signed_in()
    module, url = _too_early_page(client, db)
    opened = OPENED.search(client.get(url).get_data(as_text=True)).group(1)
    assert read(client, url, opened=opened).status_code == 409  # too early: the opening is kept
    db.rollback()
    first = db.scalar(select(ModuleProgress.first_opened_at))
    # The learner reloads (a fresh page, a fresh token) and clicks again, late enough counted
    # from the first opening, though not from the reload.
    later = first + timedelta(minutes=module.min_minutes, seconds=5)
    monkeypatch.setattr(reading, "utcnow", lambda: later)
    fresh = OPENED.search(client.get(url).get_data(as_text=True)).group(1)
    assert read(client, url, opened=fresh).status_code == 303
    db.rollback()
    progress = db.scalar(select(ModuleProgress))
    assert progress.completed_at == later and progress.first_opened_at == first


def test_a_reload_before_any_click_keeps_the_opening(client, signed_in, synced, db, monkeypatch):
    import app.learn.views as views
    import app.progress.reading as reading

    signed_in()
    module, url = _too_early_page(client, db)
    client.get(url)  # the first opening, remembered by the session
    later = utcnow() + timedelta(minutes=module.min_minutes, seconds=5)
    monkeypatch.setattr(reading, "utcnow", lambda: later)
    monkeypatch.setattr(views, "utcnow", lambda: later)
    page = client.get(url).get_data(as_text=True)  # a reload, time enough after the opening
    assert 'id="reading-clock"' not in page
    assert read(client, url).status_code == 303


def test_a_forged_or_foreign_opened_token_is_refused(
    client, signed_in, synced, db, app, monkeypatch
):
    signed_in()
    first, second = module_urls(client)[:2]
    backdate_opened(app, monkeypatch, 30)
    token_for_second = OPENED.search(client.get(second).get_data(as_text=True)).group(1)
    assert read(client, first, opened=token_for_second).status_code == 400
    assert read(client, first, opened="garbage").status_code == 400
    forged = token_for_second.rsplit(".", 1)[0] + ".AAAA"
    assert read(client, second, opened=forged).status_code == 400
    assert db.scalar(select(func.count()).select_from(ModuleProgress)) == 0


def test_reading_the_last_module_returns_to_the_course(client, signed_in, synced, app, monkeypatch):
    signed_in()
    backdate_opened(app, monkeypatch, 30)
    urls = module_urls(client)
    for url in urls:
        response = read(client, url)
    assert response.location == f"/courses/{FLAGSHIP}#main"
    page = client.get(response.location).get_data(as_text=True)
    assert "You have read every module of this course." in page
    assert "Take the assessment" in page  # the flagship course ends with its quiz
    assert "Completed" not in client.get("/dashboard").get_data(as_text=True)


def test_a_started_learner_stays_on_their_version(
    client, signed_in, synced, db, app, monkeypatch, course_tree
):
    signed_in()
    backdate_opened(app, monkeypatch, 30)
    first = module_urls(client)[0]
    read(client, first)
    path = sorted((course_tree / FLAGSHIP).glob("03-*.md"))[0]
    path.write_text(path.read_text() + "\nAn update.\n")
    sync_courses(db, load_tree(course_tree))
    list_courses(db)
    db.commit()
    assert "Version</dt><dd>1," in client.get(f"/courses/{FLAGSHIP}").get_data(as_text=True)
    assert client.get(first.replace("/v1/", "/v2/")).status_code == 404
    assert client.get(first).status_code == 200


def test_unknown_course_module_and_version_are_404(client, signed_in, synced):
    signed_in()
    assert client.get("/courses/no-such-course").status_code == 404
    assert client.get(f"/courses/{FLAGSHIP}/v1/99-nothing").status_code == 404
    assert client.get(f"/courses/{FLAGSHIP}/v7/01-what-happened").status_code == 404
    assert client.get("/courses/../../etc/passwd").status_code == 404


def test_course_images_are_served_from_the_database(client, signed_in, synced, db):
    signed_in()
    version = db.scalar(select(CourseVersion).where(CourseVersion.title.like("AI in%")))
    db.add(
        Asset(
            version_id=version.id,
            name="call.png",
            media_type="image/png",
            sha256="0",
            data=b"\x89PNG\r\n\x1a\nrest",
        )
    )
    db.commit()
    response = client.get(f"/courses/{FLAGSHIP}/v1/assets/call.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/courses/{FLAGSHIP}/v1/assets/other.png").status_code == 404
    assert client.get(f"/courses/{FLAGSHIP}/v9/assets/call.png").status_code == 404


def test_reading_needs_a_csrf_token(client, signed_in, synced, db):
    signed_in()
    url = module_urls(client)[0]
    opened = OPENED.search(client.get(url).get_data(as_text=True)).group(1)
    response = client.post(url + "/read", data=MultiDict({"opened": opened}))
    assert response.status_code == 400
    assert db.scalar(select(func.count()).select_from(ModuleProgress)) == 0


def test_progress_survives_signing_out_and_in(client, signed_in, synced, app, monkeypatch):
    from helpers import login, post

    user = signed_in()
    backdate_opened(app, monkeypatch, 30)
    for url in module_urls(client)[:2]:
        read(client, url)
    assert post(client, "/logout").status_code == 303
    assert client.get("/dashboard").status_code == 303
    login(client, user)
    assert "2 of 6 modules read" in client.get("/dashboard").get_data(as_text=True)


def test_due_dates_show_on_the_dashboard(client, signed_in, synced, db):
    from app.models import Course, Enrollment

    user = signed_in()
    course = db.scalar(select(Course).where(Course.slug == FLAGSHIP))
    db.add(
        Enrollment(
            user_id=user.id,
            course_id=course.id,
            assigned_at=utcnow(),
            due_at=utcnow() - timedelta(days=1),
        )
    )
    db.commit()
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Assigned to you" in page and "(overdue)" in page


def _enrol(db, user, slug, **facts):
    from app.models import Course, Enrollment

    course = db.scalar(select(Course).where(Course.slug == slug))
    enrollment = Enrollment(user_id=user.id, course_id=course.id, assigned_at=utcnow(), **facts)
    db.add(enrollment)
    db.commit()
    return enrollment


def _notices(client) -> str:
    page = client.get("/dashboard").get_data(as_text=True)
    if "Needs your attention" not in page:
        return ""
    return page[page.index("Needs your attention") : page.index("</section>")]


def test_the_dashboard_gives_notice_of_overdue_and_due_soon_courses(client, signed_in, synced, db):
    user = signed_in()
    assert _notices(client) == ""  # nothing due: no notices
    _enrol(db, user, FLAGSHIP, due_at=utcnow() - timedelta(days=2))
    _enrol(db, user, "ai-data-refresher", due_at=utcnow() + timedelta(days=3))
    notices = _notices(client)
    assert "<strong>Overdue:</strong>" in notices and f'href="/courses/{FLAGSHIP}"' in notices
    assert "<strong>Due soon:</strong>" in notices
    assert 'href="/courses/ai-data-refresher"' in notices


def test_a_completed_course_shows_no_due_date(client, signed_in, synced, db):
    from helpers import record_completion

    user = signed_in()
    due = utcnow() + timedelta(days=3)
    _enrol(db, user, FLAGSHIP, due_at=due)
    version = db.scalar(select(CourseVersion).where(CourseVersion.title.like("AI in%")))
    record_completion(db, user, version, utcnow() - timedelta(days=1))
    db.commit()
    page = client.get("/dashboard").get_data(as_text=True)
    card = page[page.index(version.title) :]
    card = card[: card.index("</li>")]
    assert "Completed" in card and "Due " not in card
    assert _notices(client) == ""


def test_the_dashboard_says_when_a_new_version_asks_to_retrain(
    client, signed_in, synced, db, course_tree
):
    from helpers import record_completion

    from app.models import Enrollment
    from app.training.cycles import NEW_CYCLE

    user = signed_in()
    version = db.scalar(select(CourseVersion).where(CourseVersion.title.like("AI in%")))
    record_completion(db, user, version, utcnow() - timedelta(days=30))
    db.commit()
    path = sorted((course_tree / FLAGSHIP).glob("03-*.md"))[0]
    path.write_text(path.read_text() + "\nA material update.\n")
    sync_courses(db, load_tree(course_tree))
    list_courses(db)
    # What require_retraining does for holders of the older version: a new cycle, due soon.
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == user.id))
    enrollment.cycle += 1
    for name, value in NEW_CYCLE.items():
        setattr(enrollment, name, value)
    enrollment.due_at = utcnow() + timedelta(days=20)
    db.commit()
    notices = _notices(client)
    assert "<strong>Retrain:</strong> a new version of" in notices
    assert f'href="/courses/{FLAGSHIP}"' in notices


def test_the_module_page_costs_the_same_few_statements_however_far_the_learner_is(
    client, signed_in, synced, app, monkeypatch
):
    signed_in()
    urls = module_urls(client)

    def statements(path) -> int:
        return page_statements(app, client, path)

    backdate_opened(app, monkeypatch, 30)
    assert read(client, urls[0]).status_code == 303
    client.get(urls[-1])
    before = statements(urls[-1])
    for url in urls[1:4]:
        assert read(client, url).status_code == 303
    client.get(urls[-1])
    after = statements(urls[-1])
    # The account; the course, the learner's enrolment, the version they read and their reads
    # of it: the version's modules come from the process's cache, whatever the number read.
    assert before == after == 2, (before, after)


def test_the_dashboard_and_course_page_cost_the_same_statements_however_far_the_learner_is(
    client, signed_in, synced, app, monkeypatch
):
    signed_in()
    urls = module_urls(client)

    def statements(path) -> int:
        return page_statements(app, client, path, warm=True)

    pages = ("/dashboard", f"/courses/{FLAGSHIP}")
    fresh = [statements(page) for page in pages]
    backdate_opened(app, monkeypatch, 30)
    assert read(client, urls[0]).status_code == 303
    started = [statements(page) for page in pages]
    for url in urls[1:]:
        assert read(client, url).status_code == 303
    finished = [statements(page) for page in pages]
    # However many modules are read: the dashboard 3 statements (the account; the courses,
    # enrolments, versions read and the modules read of each; the team), the course page 3
    # once started (the account; the course, enrolment, version read and reads; the attempts
    # of the cycle), 2 before (no enrolment: no attempts to look up).
    assert (fresh, started, finished) == ([3, 2], [3, 3], [3, 3])


def test_the_course_page_tells_a_learner_who_must_retrain_what_changed(
    client, signed_in, synced, db, course_tree, app
):
    from helpers import record_completion

    from app.models import Enrollment
    from app.training.cycles import NEW_CYCLE

    user = signed_in()
    version = db.scalar(select(CourseVersion).where(CourseVersion.title.like("AI in%")))
    changed = version.modules[2].title
    record_completion(db, user, version, utcnow() - timedelta(days=30))
    db.commit()
    path = sorted((course_tree / FLAGSHIP).glob("03-*.md"))[0]
    path.write_text(path.read_text() + "\nA material update.\n")
    sync_courses(db, load_tree(course_tree))
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == user.id))
    enrollment.cycle += 1
    for name, value in NEW_CYCLE.items():
        setattr(enrollment, name, value)
    db.commit()
    client.get(f"/courses/{FLAGSHIP}")
    with statements_run(app) as seen:
        page = client.get(f"/courses/{FLAGSHIP}").get_data(as_text=True)
    assert "This course has changed: please retrain" in page
    assert "You completed version 1. Version 2 was published on" in page
    assert f"Changed modules:</p><ul><li>{changed}</li></ul>" in page
    assert "Start the course" in page
    # The 2 of a learner not started (the account; the course, enrolment, version read and
    # reads), and 2 for the notice: the version last completed, both versions' modules.
    assert len(seen) == 4, seen
