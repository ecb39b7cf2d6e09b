"""Sign-in throttling kept in Redis, where every app instance behind a load balancer reads the
same counts. Runs where CANDOR_TEST_REDIS_URL is set (CI sets it)."""

from __future__ import annotations

import os
import secrets

import pytest
from helpers import csrf_token

from app import create_app

REDIS_URL = os.environ.get("CANDOR_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set CANDOR_TEST_REDIS_URL to run")


def test_sign_in_counts_live_in_redis(app, make_user):
    user = make_user(email=f"redis-{secrets.token_hex(4)}@example.test")
    prefix = f"candor-test-{secrets.token_hex(4)}"
    instances = [
        create_app(
            {
                **{
                    k: app.config[k]
                    for k in ("TESTING", "SECRET_KEY", "DATABASE_URL", "CERTIFICATE_SIGNING_KEY")
                },
                "RATELIMIT_STORAGE_URL": REDIS_URL,
                "RATELIMIT_KEY_PREFIX": prefix,
                "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute",
            }
        )
        for _ in range(2)
    ]
    clients = [instance.test_client() for instance in instances]
    statuses = []
    for attempt in range(5):
        client = clients[attempt % 2]
        statuses.append(
            client.post(
                "/login",
                data={
                    "email": user.email,
                    "password": "wrong password",
                    "csrf_token": csrf_token(client),
                },
            ).status_code
        )
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    import redis

    # What another instance (another process, another machine) would read:
    keys = redis.Redis.from_url(REDIS_URL).keys(f"LIMITS:LIMITER/*account:{user.email}*")
    assert keys, "the counts were not kept in Redis"
