"""Helpers for the portal tests: a browser-like HTTP client that carries cookies and the
CSRF token of the last page it read, and ready-made users."""
from __future__ import annotations

import html
import re
import time

import httpx

from nap.portal.users import create_user

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "the page has no form with a CSRF token"
    return html.unescape(match.group(1))


class PortalClient:
    """An httpx client that, like a browser, keeps cookies and answers forms with the CSRF
    token of the page it last read."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self.token: str | None = None

    def get(self, path: str, **kwargs) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        if "text/html" in response.headers.get("content-type", "") and 'name="csrf_token"' in response.text:
            self.token = csrf_from(response.text)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True) -> httpx.Response:
        if csrf and self.token is None:
            self.get("/login")
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.token)
        return self.http.post(path, data=form)

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        return self.get(response.headers["location"])

    def signup(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/signup")
        return self.post("/signup", {"email": email, "password": password, "password_repeat": password})

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        return self.post("/login", {"email": email, "password": password})

    def register_feed(self, cpo, name: str = "demo", auth_mode: str = "static", token: str | None = None,
                      party_id: str = "ABC") -> httpx.Response:
        self.get("/portal/feeds/new")
        return self.post("/portal/feeds/new", {
            "name": name, "versions_url": cpo.versions_url, "auth_mode": auth_mode,
            "token": token or cpo.token, "country_code": "DE", "party_id": party_id, "licence": "CC0-1.0"})

    def close(self) -> None:
        self.http.close()


def add_user(sessions, email: str, role: str = "cpo", password: str = PASSWORD) -> int:
    with sessions.begin() as session:
        return create_user(session, email, password, role=role).id


def wait_until(condition, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        time.sleep(interval)
