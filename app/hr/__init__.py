# The other HR screens register themselves on the same blueprint.
from app.hr import assignments, employees, exports  # noqa: F401
from app.hr.views import bp

__all__ = ["bp"]
