"""Authentication against a real `kamino serve --auth jwt` with an HS256 secret: tokens are
made here with the standard library (hmac, hashlib, base64, json)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import time

import pytest

import kamino

SECRET = b"python-client-test-secret-0123456789abcdef"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(rights: list[str], *, expires_in: float = 600, subject: str = "py-test",
               secret: bytes = SECRET) -> str:
    """An HS256 JWT with `kamino_rights` and an `exp` `expires_in` seconds from now."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": subject, "exp": int(time.time() + expires_in),
                                "kamino_rights": rights}).encode())
    signing_input = f"{header}.{claims}".encode("ascii")
    signature = b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return f"{header}.{claims}.{signature}"


@pytest.fixture
def auth_server(new_server):
    """A factory of servers with `--auth jwt` and the test's HS256 secret (leeway 0, so
    that a token expires when its `exp` says)."""

    def make():
        s = new_server(start=False)
        os.makedirs(s.workdir, exist_ok=True)
        secret_file = os.path.join(s.workdir, "secret")
        with open(secret_file, "wb") as f:
            f.write(SECRET)
        os.chmod(secret_file, 0o600)
        s.args = ["--auth", "jwt", "--auth-hs256-secret-file", secret_file, "--auth-leeway-seconds", "0"]
        return s.start()

    return make


def account(**kw) -> kamino.Account:
    return kamino.Account(id=kamino.id(), ledger=1, code=1, **kw)


def test_good_token_works_and_reports_its_rights(auth_server):
    s = auth_server()
    with kamino.Client(s.address, token=make_token(["read", "write"])) as c:
        a = account()
        assert [r.status for r in c.create_accounts([a])] == [kamino.CreateAccountStatus.CREATED]
        assert [x.id for x in c.lookup_accounts([a.id])] == [a.id]
        auth = c.authentication
        assert auth is not None and auth["auth"] == "jwt" and auth["subject"] == "py-test"
        assert sorted(auth["rights"]) == ["read", "write"]


def test_missing_token_is_refused(auth_server):
    s = auth_server()
    with kamino.Client(s.address) as c:
        with pytest.raises(kamino.Unauthenticated) as info:
            c.lookup_accounts([1])
    assert info.value.code == kamino.ErrorCode.UNAUTHENTICATED
    assert kamino.ErrorCode.UNAUTHENTICATED.closes_connection


def test_expired_and_forged_tokens_are_refused_with_their_reason(auth_server):
    s = auth_server()
    with kamino.Client(s.address, token=make_token(["read"], expires_in=-3600)) as c:
        with pytest.raises(kamino.Unauthenticated) as info:
            c.lookup_accounts([1])
    assert info.value.reason == "expired"
    assert info.value.request_id == 0
    forged = make_token(["read"], secret=b"another-secret-of-at-least-32-bytes!!")
    with kamino.Client(s.address, token=forged) as c:
        with pytest.raises(kamino.Unauthenticated) as info:
            c.status()
    assert info.value.reason == "bad_signature"


def test_read_token_is_forbidden_to_create_and_the_connection_stays(auth_server):
    s = auth_server()
    with kamino.Client(s.address, token=make_token(["read"])) as c:
        conn_before = None
        with pytest.raises(kamino.Forbidden) as info:
            c.create_accounts([account()])
        assert not info.value.may_have_executed
        conn_before = c.async_client.connection
        assert c.lookup_accounts([kamino.id()]) == []
        assert c.async_client.connection is conn_before  # forbidden (21) keeps the connection


def test_reconnect_re_authenticates_with_a_fresh_token(auth_server):
    s = auth_server()
    calls: list[str] = []

    def provider() -> str:
        calls.append("called")
        return make_token(["read", "write"], subject=f"refresh-{len(calls)}")

    retry = kamino.RetryPolicy(max_attempts=20, initial_backoff=0.05, max_backoff=0.2)
    with kamino.Client(s.address, token=provider, retry=retry) as c:
        a = account()
        c.create_accounts([a])
        assert len(calls) == 1 and c.authentication["subject"] == "refresh-1"
        s.stop()
        s.start()
        assert [x.id for x in c.lookup_accounts([a.id])] == [a.id]
        assert len(calls) >= 2 and c.authentication["subject"] == f"refresh-{len(calls)}"


def test_a_token_expiring_during_the_connection_is_replaced(auth_server):
    """The server answers `unauthenticated` to the request after `exp`: the client resends
    it on a new connection with the provider's next token."""
    s = auth_server()
    lifetimes = [2.0, 600.0]

    async def provider() -> str:  # an async provider, as AsyncClient accepts
        return make_token(["read"], expires_in=lifetimes.pop(0) if lifetimes else 600.0)

    async def run() -> None:
        async with kamino.AsyncClient(s.address, token=provider) as c:
            assert await c.lookup_accounts([kamino.id()]) == []
            first = c.connection
            await asyncio.sleep(3.2)
            assert await c.lookup_accounts([kamino.id()]) == []
            assert c.connection is not first
            assert not lifetimes

    asyncio.run(run())


def test_new_error_codes_map_to_their_exceptions():
    cases = {19: kamino.LogUnavailable, 20: kamino.Unauthenticated, 21: kamino.Forbidden,
             22: kamino.RateLimited, 23: kamino.TooManyConnections, 24: kamino.TimedOut}
    for code, cls in cases.items():
        e = kamino.errors.protocol_error(code, "text", 7)
        assert type(e) is cls and e.code == code and e.request_id == 7
    closing = {c for c in cases if kamino.ErrorCode(c).closes_connection}
    assert closing == {20, 23, 24}
    assert kamino.errors.protocol_error(19, "disk full").may_have_executed
    assert kamino.errors.protocol_error(22, "retry in 250 ms").retry_after == 0.25
    assert kamino.errors.protocol_error(20, "token refused: expired").reason == "expired"
    with pytest.raises(kamino.InvalidArgument):
        kamino.Client("127.0.0.1:1", token="x" * 16385)
