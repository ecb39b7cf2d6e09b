# The other HR screens register themselves on the same blueprint.
from app.hr import (  # noqa: F401
    assignment_pages,
    downloads,
    employees,
    job_pages,
    matrix_page,
    obligations_page,
    privacy_pages,
)
from app.hr.views import bp

__all__ = ["bp"]
