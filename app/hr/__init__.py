# The other HR screens register themselves on the same blueprint.
from app.hr import assignment_pages, downloads, employees, job_pages, matrix_page  # noqa: F401
from app.hr.views import bp

__all__ = ["bp"]
