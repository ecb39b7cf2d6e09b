from app.author.views import bp

__all__ = ["bp"]
