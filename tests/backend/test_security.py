"""Sign-in limits and timing, security headers, weak administrator passwords."""

from __future__ import annotations

import statistics
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.app.core.config import Settings
from backend.app.core.headers import DASHBOARD_CSP
from backend.app.main import create_app

from .conftest import auth, make_settings

LOGIN = "/api/v1/auth/login"


def _login(c: TestClient, email: str, password: str):
    return c.post(LOGIN, json={"email": email, "password": password})


def test_failed_sign_ins_are_limited_per_account(settings, users, app_client):
    c = app_client
    for _ in range(settings.login_failures_per_account):
        assert _login(c, "member@example.com", "wrong-password").status_code == 401
    r = _login(c, "member@example.com", "member-password")  # even the right one, for now
    assert r.status_code == 429, r.text
    wait = int(r.headers["Retry-After"])
    assert 0 < wait <= settings.login_window_s
    assert "too many failed sign-ins" in r.json()["detail"]
    # The account's e-mail in another case is the same account.
    assert _login(c, "MEMBER@example.com", "wrong-password").status_code == 429
    # Other accounts from the same address still sign in.
    assert _login(c, "admin@example.com", "admin-password").status_code == 200


def test_the_window_passes_and_success_clears_the_account(tmp_path):
    s = make_settings("sqlite", tmp_path, login_window_s=1.0, login_failures_per_account=2)
    from .conftest import seed_users

    seed_users(s)
    with TestClient(create_app(s)) as c:
        for _ in range(2):
            assert _login(c, "member@example.com", "nope").status_code == 401
        assert _login(c, "member@example.com", "member-password").status_code == 429
        time.sleep(1.1)
        assert _login(c, "member@example.com", "member-password").status_code == 200
        # A success forgets the account's failures: two more are allowed again.
        for _ in range(2):
            assert _login(c, "member@example.com", "nope").status_code == 401
        assert _login(c, "member@example.com", "nope").status_code == 429


def test_failed_sign_ins_are_limited_per_address(tmp_path):
    s = make_settings("sqlite", tmp_path, login_failures_per_address=6)
    with TestClient(create_app(s)) as c:
        # Unknown accounts, each tried once: only the address's count can stop them.
        codes = [_login(c, f"guess{i}@example.com", "x").status_code for i in range(8)]
        assert codes == [401] * 6 + [429] * 2
        r = _login(c, "guess99@example.com", "x")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_unknown_and_known_accounts_take_the_same_time(settings, users, app_client):
    """The scrypt work is done for unknown e-mails too (against a dummy hash), so timing does
    not tell which accounts exist. Medians of alternating attempts, within a factor of 2 (on a
    busy 2-core machine they differ by up to ~1.3; without the dummy hash by ~10)."""
    c = app_client
    settings.login_failures_per_account = settings.login_failures_per_address = 1000
    c.app.state.login_limits = None  # made afresh on the next sign-in, with these limits
    known, unknown = [], []
    _login(c, "nobody@example.com", "warm-up")  # the dummy hash is made on first use
    for i in range(10):
        for email, into in (("admin@example.com", known), (f"nobody{i}@example.com", unknown)):
            t = time.perf_counter()
            assert _login(c, email, "wrong-password").status_code == 401
            into.append(time.perf_counter() - t)
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"sign-in medians: known {k * 1000:.0f} ms, unknown {u * 1000:.0f} ms")
    assert k > 0.01, f"a sign-in took {k * 1000:.1f} ms: is the password hashed at all?"
    assert 1 / 2 < u / k < 2, f"known {k * 1000:.0f} ms, unknown {u * 1000:.0f} ms"


def test_security_headers_on_every_response(settings, users, app_client):
    c = app_client
    responses = [
        c.get("/api/v1/health"),
        c.get("/api/v1/users/me", headers=auth(users.admin)),
        c.get("/api/v1/users/me"),  # 401
        c.get("/api/v1/jobs/999", headers=auth(users.admin)),  # 404
        c.post("/api/v1/teams", json={"name": "\x00"}, headers=auth(users.admin)),  # 422
        c.get("/api/v1/openapi.json"),
    ]
    for r in responses:
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.request.url
        assert r.headers["Content-Security-Policy"] == DASHBOARD_CSP
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in r.headers  # only in production
    docs = c.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]


def test_hsts_in_production_only(tmp_path):
    s = make_settings("sqlite", tmp_path, environment="production", admin_password="x7#kQ9!vLm2$pW")
    with TestClient(create_app(s)) as c:
        r = c.get("/api/v1/health")
        assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_dashboard_build_needs_nothing_the_policy_refuses(tmp_path):
    """The CSP allows scripts and styles from the origin only: the built index.html (vite)
    must load everything from files, with no inline script or style and nothing from elsewhere."""
    import re

    from .stack import REPO

    index = REPO / "frontend" / "dist" / "index.html"
    if not index.is_file():
        pytest.skip("the dashboard is not built (scripts/test_frontend.sh builds it)")
    html = index.read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"""(src|href)=["']https?://""", html), "loads from another origin"
    for js in (REPO / "frontend" / "dist" / "assets").glob("*.js"):
        text = js.read_text(errors="replace")
        assert "new EventSource(`http" not in text and "eval(" not in text, js.name


@pytest.mark.parametrize(
    "password, why",
    [
        ("admin", "shorter than 12"),
        ("password", "shorter than 12"),
        ("short-pw", "shorter than 12"),
        ("passwordpassword", "commonly guessed"),
        ("Administrator1", "commonly guessed"),
        ("aaaaaaaaaaaaaaaa", "too few different characters"),
        ("admin@studio.local", "the account's own e-mail"),
    ],
)
@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_weak_admin_passwords_are_refused_in_every_environment(environment, password, why):
    with pytest.raises(ValidationError, match="STUDIO_ADMIN_PASSWORD"):
        Settings(environment=environment, admin_password=password)
    if environment != "production":  # production says "placeholder" for admin and password
        with pytest.raises(ValidationError, match=why):
            Settings(environment=environment, admin_password=password)


def test_an_unset_admin_password_is_generated_outside_production():
    for environment in ("development", "test"):
        assert Settings(environment=environment).admin_password == "changethis"  # seed generates
    assert Settings(environment="development", admin_password="correct horse battery")
