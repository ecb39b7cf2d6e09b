# The draft pages register themselves on the same blueprint.
from app.author import draft_pages, preview_pages, publish_pages  # noqa: F401
from app.author.views import bp

__all__ = ["bp"]
