# The organisation page registers itself on the same blueprint.
from app.admin import organisation, security_pages  # noqa: F401
from app.admin.views import bp

__all__ = ["bp"]
