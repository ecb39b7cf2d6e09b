"""Reading the HR matrix filters from a query string, with clear refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import DomainError
from app.training.assignments import SORTS
from app.training.status import Status

PAGE_SIZE = 50


def _int(args: Mapping[str, str], name: str, label: str) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise DomainError(f"{label} must be chosen from the list.")
    return int(value)


@dataclass(frozen=True)
class MatrixQuery:
    course_id: int | None = None
    department: str | None = None
    manager_id: int | None = None
    status: Status | None = None
    sort: str = "name"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> MatrixQuery:
        """The filters in ``args``; DomainError (400) for anything the form cannot send."""
        status = (args.get("status") or "").strip()
        if status and status not in Status.__members__.values():
            raise DomainError("Status must be chosen from the list.")
        sort = (args.get("sort") or "name").strip()
        if sort not in SORTS:
            raise DomainError("Unknown sort order.")
        department = (args.get("department") or "").strip()[:120] or None
        return cls(
            course_id=_int(args, "course", "Course"),
            department=department,
            manager_id=_int(args, "manager", "Manager"),
            status=Status(status) if status else None,
            sort=sort,
            page=max(1, _int(args, "page", "Page") or 1),
        )

    def export_args(self) -> dict[str, str]:
        """The same records, as the export filter's query string."""
        values = {"course_id": self.course_id, "department": self.department,
                  "manager_id": self.manager_id, "status": self.status}
        return {k: str(v) for k, v in values.items() if v is not None}

    def args(self, **changes) -> dict[str, str]:
        """The query string for this filter with ``changes`` (for sort and page links)."""
        values = {"course": self.course_id, "department": self.department,
                  "manager": self.manager_id, "status": self.status, "sort": self.sort,
                  "page": self.page}
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "", 1) or k == "sort"}
