"""gunicorn for Candor behind nginx (deploy/nginx-site.conf): loopback only, never public.

    gunicorn -c deploy/gunicorn.conf.py "app:create_app()"

with CANDOR_PROXY_HOPS=1, so that Candor believes the client address nginx passes on.
"""

bind = "127.0.0.1:8000"  # or "unix:/run/candor/gunicorn.sock"; never 0.0.0.0
workers = 4
timeout = 300  # exports of 200,000 rows take minutes
forwarded_allow_ips = "127.0.0.1"
# Each worker builds the certificate PDF renderer (fonts, stylesheet) as it starts, not in the
# first request that needs it (the app factory runs in each worker, after the fork).
raw_env = ["CANDOR_PDF_WARM_UP=1"]


def post_worker_init(worker):
    """Once a worker has built the app, move what start-up made (modules, the URL map,
    templates, SQLAlchemy's mappers) out of the garbage collector's reach: a full collection
    then walks only what requests made. Measured with callgrind over 150 assessment pages, a
    full collection over the start-up heap cost about 60 M instructions (0.4 M a page)."""
    import gc

    gc.collect()
    gc.freeze()
