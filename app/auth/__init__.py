from app.auth import privacy_page  # noqa: F401  (registers its page on bp)
from app.auth.views import bp

__all__ = ["bp"]
