# The other HR screens register themselves on the same blueprint.
from app.hr import (  # noqa: F401
    assignment_pages,
    assignment_rule_page,
    downloads,
    employees,
    job_pages,
    matrix_page,
    obligations_page,
    privacy_pages,
    reminder_pages,
)
from app.hr.views import bp

__all__ = ["bp"]
