# The other account screens register themselves on the same blueprint.
from app.auth import password_pages, privacy_page  # noqa: F401
from app.auth.views import bp

__all__ = ["bp"]
