from app.hr.views import bp

__all__ = ["bp"]
