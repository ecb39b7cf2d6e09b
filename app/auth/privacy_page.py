"""What Candor keeps about the signed-in person, why, for how long and who sees it: the page
is the privacy registry (``app.privacy.registry``) read aloud, so it cannot drift from what
the database holds."""

from __future__ import annotations

from flask import current_app, render_template

from app.auth.views import bp
from app.privacy.registry import LEAVER, Personal, transparency_sections


@bp.get("/account/privacy")
def privacy():
    config = current_app.config
    years = int(config["RETENTION_LEAVER_YEARS"])
    settings = {
        "OUTBOX_KEEP_DAYS": f"{config['OUTBOX_KEEP_DAYS']}",
        "JOBS_RESULT_HOURS": f"{config['JOBS_RESULT_HOURS']}",
        # 0: leavers are erased by hand only.
        LEAVER: f"{years} years after you leave" if years else "when the organisation decides",
    }
    sections = [
        (section.heading, [_filled(item, settings) for item in section.items])
        for section in transparency_sections()
    ]
    return render_template("auth/privacy.html", sections=sections)


def _filled(item: Personal, settings: dict[str, str]) -> Personal:
    """The item as sentences, with the settings it names replaced by their values."""
    kept_for = item.kept_for
    for name, value in settings.items():
        kept_for = kept_for.replace(name, value)
    return Personal(*(_first_upper(text) for text in (item.what, item.why, kept_for, item.seen_by)))


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]
