from app.team.views import bp

__all__ = ["bp"]
