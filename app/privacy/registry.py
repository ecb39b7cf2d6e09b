"""Every column Candor stores, classified: what is personal data, why it is kept, for how long,
and who can see it. The transparency page each person sees is generated from here, and a test
fails when a model gains a column this registry does not classify, so nothing new is kept
without saying so.

A column is either ``Personal`` (it is about a person, or says which person) or listed in a
table's ``other`` with the reason it is not (course content, a technical value). Retention is
said in words; where a setting decides it, the words name the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import MetaData

# Who can see what (the roles of DESIGN.md §2), in the words the page uses.
YOU = "you"
YOU_HR = "you, HR and admins"
YOU_HR_MANAGER = "you, HR, admins and your manager (status only)"
HR = "HR and admins"
ADMINS = "admins"
NOBODY = "nobody: the system only"

LEAVER = "RETENTION_LEAVER_YEARS years after you leave"  # the privacy page fills in the setting
EMPLOYMENT = (
    f"while your account exists; then until an erasure (when you ask, or {LEAVER}) replaces "
    "it with a pseudonym"
)
YOU_ADMINS = "you and admins"
TWO_STEP = "until you, or an admin, turn two-step sign-in off"
TRAINING_RECORD = (
    "as long as the organisation's training records (its evidence of training, each a link "
    f"of the audit chain); after an erasure (when you ask, or {LEAVER}) under a pseudonym"
)


@dataclass(frozen=True)
class Personal:
    """A column holding personal data, or saying whose a row is."""

    what: str
    why: str
    kept_for: str
    seen_by: str


@dataclass(frozen=True)
class Table:
    """One table: its heading on the transparency page, and every column classified."""

    heading: str
    personal: Mapping[str, Personal] = field(default_factory=dict)
    other: Mapping[str, str] = field(default_factory=dict)  # column -> why it is not personal

    def columns(self) -> set[str]:
        return set(self.personal) | set(self.other)


ID = "a row number"
WHO = "which person the row is about"


def _by(what: str, why: str, kept_for: str = TRAINING_RECORD, seen_by: str = HR) -> Personal:
    return Personal(what, why, kept_for, seen_by)


# A table: the formatter would spread each entry over six lines.
# fmt: off
REGISTRY: dict[str, Table] = {
    "users": Table("Your account", personal={
        "email": _by(
            "your e-mail address", "to sign you in and send you training e-mails", EMPLOYMENT,
            YOU_HR,
        ),
        "name": _by("your name", "to show and certify who was trained", EMPLOYMENT, YOU_HR_MANAGER),
        "employee_id": _by(
            "your employee id", "to match you with the staff directory", EMPLOYMENT, YOU_HR,
        ),
        "department": _by(
            "your department", "to report training by department", EMPLOYMENT, YOU_HR,
        ),
        "manager_id": _by(
            "who your manager is", "so your manager can follow your team's training", EMPLOYMENT,
            YOU_HR,
        ),
        "locale": _by(
            "your language", "to show dates and names the way you read them", EMPLOYMENT, YOU_HR,
        ),
        "password_hash": _by(
            "a one-way hash of your password (never the password)",
            "to check your password when you sign in", EMPLOYMENT, NOBODY,
        ),
        "active": _by(
            "whether your account is active", "to let only current staff in", EMPLOYMENT, YOU_HR,
        ),
        "session_generation": _by(
            "a random value that ends your sessions when changed", "to sign you out everywhere",
            EMPLOYMENT, NOBODY,
        ),
        "created_at": _by("when your account was created", "for the record", EMPLOYMENT),
        "deactivated_at": _by("when your account was deactivated", "for the record", EMPLOYMENT),
        "erased_at": _by(
            "when you were erased (your name, e-mail and employee id replaced by a pseudonym)",
            "so the account is never used or changed again", TRAINING_RECORD,
        ),
        "oidc_subject": _by(
            "the id your organisation's sign-in service gives you, once you have used it",
            "to recognise you when you sign in through it", EMPLOYMENT, NOBODY,
        ),
        "search_key": _by(
            "your name, e-mail and employee id without accents or capitals",
            "so HR can find you however your name is typed", EMPLOYMENT, NOBODY,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
    }),
    "user_roles": Table("Your account", personal={
        "user_id": _by(
            "your roles (learner, trainer, HR, admin)", "to decide what you may do", EMPLOYMENT,
            YOU_HR,
        ),
    }, other={
        **dict.fromkeys(("role",), "the role's name"),
    }),
    "invitations": Table("Your account", personal={
        "user_id": _by(
            "the invitation links sent to you (only a hash of each)",
            "to let you set your first password, and to show HR who has not activated their "
            "account",
            EMPLOYMENT,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("token_hash",), "a one-way hash of a random link"),
        **dict.fromkeys(("created_at",), "when the link was made"),
        **dict.fromkeys(("expires_at",), "when it stops working"),
        **dict.fromkeys(("used_at",), "when it was used"),
    }),
    "password_resets": Table("Your account", personal={
        "user_id": _by(
            "the password-reset links you asked for (only a hash of each)",
            "to let you choose a new password", "until the link expires (an hour)", NOBODY,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("token_hash",), "a one-way hash of a random link"),
        **dict.fromkeys(("created_at",), "when the link was made"),
        **dict.fromkeys(("expires_at",), "when it stops working"),
        **dict.fromkeys(("used_at",), "when it was used"),
    }),
    "totp_factors": Table("Your account", personal={
        "user_id": _by(
            "that you use an authenticator app for two-step sign-in",
            "to ask for its code when you sign in", TWO_STEP, YOU_ADMINS,
        ),
        "sealed_secret": _by(
            "the key your authenticator app shares with Candor, encrypted",
            "to check the codes the app shows", TWO_STEP, NOBODY,
        ),
        "last_step": _by(
            "the 30-second period of the last code you used",
            "so that no code is accepted twice", TWO_STEP, NOBODY,
        ),
        "confirmed_at": _by(
            "when you turned two-step sign-in on", "for the record", TWO_STEP, YOU_ADMINS,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("created_at",), "when the set-up began"),
    }),
    "recovery_codes": Table("Your account", personal={
        "user_id": _by(
            "your two-step sign-in recovery codes (only a hash of each)",
            "to let you in without your phone",
            "until you make new ones, or two-step sign-in is turned off", NOBODY,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("code_hash",), "a one-way hash of a random code"),
        **dict.fromkeys(("created_at",), "when the code was made"),
        **dict.fromkeys(("used_at",), "when it was used"),
    }),
    "enrollments": Table("Your training", personal={
        "user_id": _by(
            "each course you are on: when it was assigned and is due, when you started and "
            "completed it, and when it expires",
            "to follow and prove your training", TRAINING_RECORD, YOU_HR_MANAGER,
        ),
        "assigned_by_id": _by("who assigned you a course", "for the record"),
    }, other={
        **dict.fromkeys((
            "id", "course_id", "version_id", "created_at", "assigned_at", "due_at",
            "assignment_id", "started_at", "cycle", "completed_at", "expires_at", "revoked_at",
            "extra_attempts", "reminded_at", "reminded_deadline", "reminded_days_before",
        ), "a fact of your course record (with the row above)"),
    }),
    "assignments": Table("Your training", personal={
        "created_by_id": _by("who assigned a course to a group", "for the record"),
        "cancelled_by_id": _by("who cancelled an assignment", "for the record"),
    }, other={
        **dict.fromkeys((
            "id", "course_id", "audience", "department", "due_on", "due_days", "created_at",
            "active", "cancelled_at",
        ), "the assignment: a course, a group, a due rule"),
    }),
    "assignment_people": Table("Your training", personal={
        "user_id": _by(
            "that a course was assigned to you by name", "to follow your training",
            TRAINING_RECORD, YOU_HR,
        ),
    }, other={
        **dict.fromkeys(("assignment_id",), "which assignment"),
    }),
    "module_progress": Table("Your training", personal={
        "user_id": _by(
            "which modules you opened and read, when, and for how long",
            "to count the reading time a course asks for", TRAINING_RECORD, YOU_HR,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("module_id",), "which module"),
        **dict.fromkeys(("first_opened_at", "completed_at", "seconds_spent",), "a fact of the row"),
    }),
    "quiz_attempts": Table("Your training", personal={
        "user_id": _by(
            "your assessment attempts: the questions drawn, your answers, your score and "
            "whether you passed",
            "to grade you and prove you passed", TRAINING_RECORD, YOU_HR,
        ),
    }, other={
        **dict.fromkeys((
            "id", "enrollment_id", "version_id", "cycle", "number", "seed", "plan", "paths",
            "status", "started_at", "submitted_at", "answers", "percent", "passed",
            "must_pass_failed", "result",
        ), "a fact of the attempt (with the row above)"),
    }),
    "attempt_answers": Table("Your training", personal={
        "attempt_id": _by(
            "the answers you saved while moving through an assessment",
            "so that leaving the page or a lost connection loses nothing", seen_by=YOU_HR,
        ),
    }, other={
        **dict.fromkeys(("id", "question_id", "option_ids", "saved_at"), "a fact of the answer"),
    }),
    "completions": Table("Your training", personal={
        "user_id": _by(
            "each course you completed, with its version and your score",
            "the evidence of your training", TRAINING_RECORD, YOU_HR_MANAGER,
        ),
    }, other={
        **dict.fromkeys((
            "id", "course_id", "version_id", "enrollment_id", "cycle", "attempt_id",
            "completed_at", "score",
        ), "a fact of the completion"),
    }),
    "certificates": Table("Your certificates", personal={
        "user_id": _by(
            "your certificates: your name, the course, your score and dates, as signed",
            "so anyone you show one to can check it", TRAINING_RECORD,
            "you, HR, admins, and anyone who has the certificate's code",
        ),
        "facts": _by(
            "what each certificate states, your name included",
            "the signed statement the certificate is",
        ),
        "pdf": _by(
            "the certificate as a PDF (deleted if you are erased)",
            "to give you the same file every time",
        ),
        "erased_at": _by(
            "when your name was replaced by a pseudonym on a certificate",
            "so its verification page says its holder was erased",
        ),
        "revoked_by_id": _by("who revoked a certificate", "for the record"),
        "revocation_note": _by("the note written when a certificate was revoked", "for the record"),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("code",), "the certificate's public code"),
        **dict.fromkeys(("completion_id",), "which completion"),
        **dict.fromkeys(("signature",), "the issuer's signature"),
        **dict.fromkeys(("key_id",), "which key signed it"),
        **dict.fromkeys(("issued_at", "expires_at", "revoked_at",), "a fact of the certificate"),
        **dict.fromkeys(("revocation_reason",), "one of a fixed list of reasons"),
    }),
    "reminders": Table("E-mails to you", personal={
        "user_id": _by(
            "the reminders sent to you: when, and about which courses",
            "to remind you no more often than the cadence says", TRAINING_RECORD, YOU_HR,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("sent_on", "sent_at",), "a fact of the reminder"),
        **dict.fromkeys(("courses",), "which courses"),
        **dict.fromkeys(("manager_copied",), "whether your manager had a copy (before digests)"),
        **dict.fromkeys(("run_id",), "which reminder run sent it"),
        **dict.fromkeys(("overdue",), "whether any of those courses was late"),
    }),
    "reminder_digests": Table("E-mails to you", personal={
        "manager_id": _by(
            "the summaries of your team's late training sent to you as a manager",
            "to tell managers about late training once per run", TRAINING_RECORD, HR,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("run_id",), "which reminder run sent it"),
        **dict.fromkeys(("sent_at", "reports"), "when, and how many people it named"),
    }),
    "reminder_runs": Table("E-mails to you", personal={
        "started_by_id": _by("who pressed HR's Send now", "for the record", TRAINING_RECORD, HR),
    }, other={
        **dict.fromkeys((
            "id", "trigger", "state", "created_at", "started_at", "finished_at", "heartbeat_at",
            "days_before", "overdue_every_days", "reminders", "courses", "digests", "failed",
            "already_reminded", "not_activated", "error",
        ), "a reminder run: when, the cadence it followed, and what it sent (counts)"),
    }),
    "reminder_settings": Table("E-mails to you", personal={
        "updated_by_id": _by("who last set the reminder cadence", "for the record", EMPLOYMENT, HR),
    }, other={
        **dict.fromkeys(
            ("id", "days_before", "overdue_every_days", "updated_at"), "the reminder cadence"
        ),
    }),
    "outbox": Table("E-mails to you", personal={
        "recipients": _by(
            "the address each e-mail to you was sent to",
            "to deliver it, and to know it was delivered",
            "until delivered, then OUTBOX_KEEP_DAYS days", ADMINS,
        ),
        "message": _by(
            "the e-mails sent to you (password resets, invitations, reminders)", "to deliver them",
            "until delivered, then OUTBOX_KEEP_DAYS days", NOBODY,
        ),
        "subject": _by(
            "their subject lines", "to deliver them",
            "until delivered, then OUTBOX_KEEP_DAYS days", ADMINS,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("kind",), "what kind of e-mail"),
        **dict.fromkeys((
            "created_at", "state", "attempts", "next_attempt_at", "claimed_at", "sent_at",
        ), "delivery state"),
        **dict.fromkeys(("sender",), "Candor's own address"),
        **dict.fromkeys(("error",), "the mail server's answer"),
    }),
    "audit_events": Table("The audit trail", personal={
        "actor_id": _by(
            "what you did that the organisation must be able to show (sign-ins, "
            "submissions, downloads, changes made as HR, trainer or admin)",
            "the audit trail an auditor checks", TRAINING_RECORD, ADMINS,
        ),
        "subject_id": _by(
            "what was done to your records, and by whom", "the audit trail", TRAINING_RECORD,
            ADMINS,
        ),
        "details": _by(
            "the ids and the reasons written with each action", "the audit trail", TRAINING_RECORD,
            ADMINS,
        ),
        "redacted_at": _by(
            "when an erasure replaced your name where a reason mentioned it",
            "the audit trail", TRAINING_RECORD, ADMINS,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("occurred_at",), "when"),
        **dict.fromkeys(("action",), "what kind of action"),
        **dict.fromkeys(("subject_type",), "what kind of record"),
    }),
    "jobs": Table("Files you asked for", personal={
        "owner_id": _by(
            "the exports and files you asked Candor to build",
            "to give the file to you and nobody else", "JOBS_RESULT_HOURS hours after it is ready",
            YOU_HR,
        ),
    }, other={
        **dict.fromkeys((
            "id", "kind", "params", "state", "attempts", "done", "total", "error", "created_at",
            "started_at", "heartbeat_at", "finished_at", "expires_at", "result_name",
            "result_type", "result_size",
        ), "the job's state"),
    }),
    "job_chunks": Table("Files you asked for", personal={
        "data": _by(
            "the file itself (an export may hold other people's records)",
            "to let you download it", "JOBS_RESULT_HOURS hours after it is ready", YOU,
        ),
    }, other={
        **dict.fromkeys(("job_id",), "which job"),
        **dict.fromkeys(("attempt",), "which attempt"),
        **dict.fromkeys(("seq",), "which part"),
    }),
    "drafts": Table("Courses you write", personal={
        "updated_by_id": _by(
            "who last saved a studio draft", "to say who saved it", "as long as the draft",
            "trainers and admins",
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("course_id",), "which course"),
        **dict.fromkeys(("revision",), "the draft's save count"),
        **dict.fromkeys(("based_on",), "the version it started from"),
        **dict.fromkeys(("created_at", "updated_at",), "course content"),
    }),
    "draft_saves": Table("Courses you write", personal={
        "saved_by_id": _by(
            "each save you made to a draft", "the draft's history", "as long as the draft",
            "trainers and admins",
        ),
    }, other={
        **dict.fromkeys((
            "id", "draft_id", "revision", "saved_at", "action", "path", "new_path", "data",
        ), "course content"),
    }),
    "course_versions": Table("Courses you write", personal={
        "published_by_id": _by(
            "who published a course version", "the course's history", "as long as the course",
            "trainers and admins",
        ),
    }, other={
        **dict.fromkeys((
            "id", "course_id", "number", "content_hash", "title", "summary", "estimated_minutes",
            "pass_mark", "max_attempts", "recertify_months", "obligations", "release_notes",
            "material", "metadata_source", "quiz_source", "quiz", "details", "published_at",
        ), "course content"),
    }),
    "organisation_details": Table("Settings you changed", personal={
        "updated_by_id": _by(
            "who last changed an organisation detail", "for the record", "as long as the setting",
            ADMINS,
        ),
    }, other={
        **dict.fromkeys(("name",), "a setting"),
        **dict.fromkeys(("value",), "the organisation's own wording"),
        **dict.fromkeys(("updated_at",), "when"),
    }),
    "settings": Table("Settings you changed", personal={
        "updated_by_id": _by(
            "who last changed a sign-in setting", "for the record", "as long as the setting",
            ADMINS,
        ),
    }, other={
        **dict.fromkeys(("name",), "a setting"),
        **dict.fromkeys(("value",), "its value (e.g. two-step sign-in required for staff)"),
        **dict.fromkeys(("updated_at",), "when"),
    }),
    "organisation_logos": Table("Settings you changed", personal={
        "uploaded_by_id": _by(
            "who uploaded the logo", "for the record", "as long as the logo", ADMINS,
        ),
    }, other={
        **dict.fromkeys(("id",), ID),
        **dict.fromkeys(("png",), "the organisation's logo"),
        **dict.fromkeys(("sha256",), "its hash"),
        **dict.fromkeys(("width", "height",), "its size"),
        **dict.fromkeys(("uploaded_at", "removed_at"), "when"),
    }),
    "courses": Table("", personal={
    }, other={
        **dict.fromkeys((
            "id", "slug", "created_at", "visibility", "managed_by",
        ), "course content"),
    }),
    "modules": Table("", personal={
    }, other={
        **dict.fromkeys((
            "id", "version_id", "position", "stem", "title", "source", "html", "min_minutes",
            "word_count",
        ), "course content"),
    }),
    "assets": Table("", personal={
    }, other={
        **dict.fromkeys((
            "id", "version_id", "name", "media_type", "sha256", "data",
        ), "course content"),
    }),
    "draft_files": Table("", personal={
    }, other={
        **dict.fromkeys(("id", "draft_id", "path", "data",), "course content"),
    }),
    "signing_keys": Table("", personal={
    }, other={
        **dict.fromkeys((
            "id", "kid", "public_key", "pdf_certificate", "valid_from", "valid_until",
        ), "the public keys certificates are signed with, and when (published to everyone)"),
    }),
    "ledger_entries": Table("", personal={
    }, other={
        **dict.fromkeys((
            "id", "seq", "kind", "row_id", "content_hash", "prev_hash", "entry_hash",
            "recorded_at",
        ), "the hash chain over the records: a row's number and hashes, none of its content"),
    }),
}
# fmt: on


def unclassified(metadata: MetaData) -> list[str]:
    """``table.column`` for every stored column the registry does not classify."""
    missing = []
    for table in metadata.sorted_tables:
        known = REGISTRY.get(table.name, Table("")).columns()
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in known]
    return missing


def stale(metadata: MetaData) -> list[str]:
    """Registry entries for columns that no longer exist (so the page never claims too much)."""
    columns = {f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns}
    return sorted(
        f"{name}.{column}"
        for name, table in REGISTRY.items()
        for column in table.columns()
        if f"{name}.{column}" not in columns
    )


@dataclass(frozen=True)
class Section:
    heading: str
    items: list[Personal]


def transparency_sections(registry: Mapping[str, Table] = REGISTRY) -> list[Section]:
    """The transparency page: personal data by heading, in the registry's order."""
    sections: dict[str, list[Personal]] = {}
    for table in registry.values():
        if table.personal:
            sections.setdefault(table.heading, []).extend(table.personal.values())
    return [Section(heading, items) for heading, items in sections.items()]
