# The draft pages register themselves on the same blueprint.
from app.author import (  # noqa: F401
    draft_pages,
    preview_pages,
    publish_pages,
    statistics_pages,
)
from app.author.views import bp

__all__ = ["bp"]
