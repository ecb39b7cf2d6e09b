"""Training obligations: who must take which course by when, and where each person stands.

- ``status``: the one rule for where a person stands on a course (no database, no clock);
- ``assignments``: putting courses on people, and on newcomers; ``renewal``: new cycles
  after a material change (retraining) or near expiry (renewal); ``cycles``: what both read
  of an enrollment's current cycle;
- ``filters``: ``RecordFilter``, which people x courses records a listing or export holds;
- ``matrix``: those records with their status (``status_rows``) and the dashboard's tallies;
- ``reminders``: e-mails about what is due; ``reports`` and ``transcript``: read-only views
  for HR; ``demo``: accounts to try Candor with.

Callers own the transaction: services flush and never commit. Nothing here imports Flask.
"""
