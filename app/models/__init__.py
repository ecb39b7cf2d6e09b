"""The data model: plain SQLAlchemy 2.0 mapped classes. Rules that span entities live in the
domain packages, not here."""

from app.models.assignment import Assignment, AssignmentPerson, Audience, Invitation
from app.models.audit import AuditEvent
from app.models.certificate import Certificate, SigningKey
from app.models.course import Asset, Course, CourseVersion, Management, Module, Visibility
from app.models.credentials import PasswordReset, RecoveryCode, Setting, TotpFactor
from app.models.draft import Draft, DraftFile, DraftSave
from app.models.job import Job, JobChunk, JobState
from app.models.ledger import LedgerEntry
from app.models.mail import MailState, OutboxMessage
from app.models.organisation import OrganisationDetail, OrganisationLogo
from app.models.progress import Enrollment, ModuleProgress
from app.models.quiz import AttemptAnswer, AttemptStatus, Completion, QuizAttempt
from app.models.reminder import (
    Reminder,
    ReminderDigest,
    ReminderRun,
    ReminderSettings,
    RunState,
    RunTrigger,
)
from app.models.user import STAFF_ROLES, Role, User, UserRole

__all__ = [
    "Asset",
    "Assignment",
    "AssignmentPerson",
    "Audience",
    "Invitation",
    "Reminder",
    "AttemptAnswer",
    "ReminderDigest",
    "ReminderRun",
    "ReminderSettings",
    "RunState",
    "RunTrigger",
    "AttemptStatus",
    "Completion",
    "AuditEvent",
    "Certificate",
    "Course",
    "CourseVersion",
    "Draft",
    "DraftFile",
    "DraftSave",
    "Enrollment",
    "Management",
    "Job",
    "JobChunk",
    "JobState",
    "LedgerEntry",
    "MailState",
    "Module",
    "OutboxMessage",
    "ModuleProgress",
    "OrganisationDetail",
    "OrganisationLogo",
    "PasswordReset",
    "QuizAttempt",
    "RecoveryCode",
    "Role",
    "SigningKey",
    "STAFF_ROLES",
    "Setting",
    "TotpFactor",
    "User",
    "UserRole",
    "Visibility",
]
