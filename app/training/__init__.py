"""Training obligations: who must take which course by when, and where each person stands.

``status`` is the one rule for where a person stands on a course; ``assignments`` puts
courses on people; ``renewal`` starts new cycles (retraining, renewal); ``filters`` says which
people x courses records a listing or export holds; ``matrix`` lists them with their status;
``reminders`` e-mails what is due; ``reports`` and ``transcript`` read them for HR; ``demo``
seeds accounts to try Candor with. Callers own the transaction: services flush, never commit.
"""
