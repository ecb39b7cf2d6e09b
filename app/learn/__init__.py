from app.learn.views import bp

__all__ = ["bp"]
