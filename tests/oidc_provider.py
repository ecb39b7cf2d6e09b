"""A real OpenID provider for the tests (the npm package ``oidc-provider``, run by node from
``tests/oidc/provider.mjs``), on a free port of 127.0.0.1; and a person signing in on its
development login form, as a browser would, with plain HTTP.

The test generates the provider's signing key, so it can also forge ID tokens that are
correctly signed but wrong in one claim (the audience, the expiry), and tell those refusals
apart from a bad signature.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from smtp_server import free_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider"
CLIENT_ID = "candor"
CLIENT_SECRET = "candor-test-client-secret"  # noqa: S105 (a test client's secret)
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def missing() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not PACKAGE.is_dir():
        return "oidc-provider is not installed (npm install)"
    return None


@dataclass
class Provider:
    issuer: str
    key: RSAKey
    process: subprocess.Popen
    accounts: dict[str, dict] = field(default_factory=dict)

    def forge(self, claims: dict, key: RSAKey | None = None) -> str:
        """An ID token with ``claims``, signed with the provider's key (or ``key``)."""
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, signer)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_provider(
    redirect_uris: list[str], accounts: dict[str, dict], port: int | None = None
) -> Provider:
    """Start the provider (on ``port``, or a free one) with one confidential client
    (``CLIENT_ID``) allowed to come back to ``redirect_uris``, and ``accounts`` (sub ->
    claims) to sign in as."""
    port = port or free_port()
    key = RSAKey.generate_key(2048, parameters={"kid": "candor-test-key", "use": "sig"})
    config = {
        "port": port,
        "jwks": {"keys": [key.as_dict(private=True)]},
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        ],
        "accounts": accounts,
    }
    process = subprocess.Popen(  # noqa: S603 (our own script, arguments we built)
        ["node", str(SCRIPT), json.dumps(config)],  # noqa: S607 (node from PATH)
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    said = []
    for line in process.stdout:  # blocks until it listens, or dies (its warnings come first)
        if line.startswith("listening "):
            return Provider(line.split()[1], key, process, accounts)
        said.append(line)
    process.kill()
    raise RuntimeError("the OpenID provider did not start: " + "".join(said))


def sign_in_at_provider(authorize_url: str, sub: str, issuer: str) -> str:
    """Follow ``authorize_url`` as a browser would: sign in as ``sub`` on the provider's
    login form, consent, and return the URL the provider sends the browser back to."""
    browser = requests.Session()
    url = authorize_url
    for _ in range(20):
        response = browser.get(url, allow_redirects=False, timeout=10)
        while response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(issuer):
                return url  # back to the client, with the code and the state
            response = browser.get(url, allow_redirects=False, timeout=10)
        action = _FORM_ACTION.search(response.text)
        assert action, f"no form on the provider's page: {response.text[:500]}"
        target = urljoin(url, unescape(action.group(1)))
        data = {"prompt": "consent"}
        if 'name="login"' in response.text:
            data = {"prompt": "login", "login": sub, "password": "any"}
        response = browser.post(target, data=data, allow_redirects=False, timeout=10)
        url = urljoin(target, response.headers["Location"])
        if not url.startswith(issuer):
            return url
    raise AssertionError("the provider never sent the browser back")


def wait_until_stopped(provider: Provider) -> None:
    deadline = time.monotonic() + 10
    while provider.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
