"""Exports of training records: completion rows, quiz answers, and their CSV and XLSX files.

Row generators (``completions``, ``items``) read with SQLAlchemy Core in a fixed number of
queries and stream; writers (``csv``, ``xlsx``) turn rows into bytes in chunks. No Flask here:
a view wraps the generators in a streamed response. Callers own the transaction.
"""
