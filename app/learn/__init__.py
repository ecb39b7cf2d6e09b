# The assessment and certificate pages register themselves on the same blueprint.
from app.learn import assessment, certificate_pages  # noqa: F401
from app.learn.views import bp

__all__ = ["bp"]
