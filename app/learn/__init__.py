from app.learn import assessment  # noqa: F401  (registers the assessment pages on bp)
from app.learn.views import bp

__all__ = ["bp"]
