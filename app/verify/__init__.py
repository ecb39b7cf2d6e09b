from app.verify.views import bp

__all__ = ["bp"]
