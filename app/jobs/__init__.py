"""Background jobs: the ``jobs`` record (state, progress, the file made) and how an attempt
runs. No Flask and no queue library here: ``app/tasks.py`` hands work to the queue (Huey) and
calls ``runner.run_job`` in a worker; views read records with ``records``.

- ``records``: create a job, who may see it, stale attempts, expiry, reading the file back.
- ``runner``: one attempt of a job: claim it, run its kind's handler, store the file in
  chunks with progress, finish or fail it. Only the attempt that holds the claim may write.
"""
