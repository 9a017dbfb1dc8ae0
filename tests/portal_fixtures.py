"""Helpers for the portal tests: a browser-like HTTP client that carries cookies and the
CSRF token of the last page it read, ready-made users, and the mails of the outbox."""
from __future__ import annotations

import html
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from nap.portal.users import create_user

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"https?://\S+")
# The outbox directory of each running NAP (by base URL), filled by the nap_server fixture.
OUTBOXES: dict[str, Path] = {}


def outbox_mails(directory: Path, to: str | None = None) -> list[EmailMessage]:
    """The mails written to the outbox (oldest first), those to `to` only if given."""
    mails = [message_from_bytes(path.read_bytes(), policy=policy.default)
             for path in sorted(Path(directory).glob("*.eml"))]
    return [mail for mail in mails if to is None or mail["To"] == to]


def link_in(mail: EmailMessage, path: str) -> str:
    """The path and query of the link to `path` in the mail (the host is NAP's configured
    public URL, not necessarily the test server's)."""
    for link in _LINK.findall(mail.get_body(("plain",)).get_content()):
        parts = urlsplit(link)
        if parts.path == path:
            return f"{parts.path}?{parts.query}"
    raise AssertionError(f"no link to {path} in the mail")


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

    def signup(self, email: str, password: str = PASSWORD, verify: bool = True) -> httpx.Response:
        """Sign up; with `verify`, also follow the confirmation link mailed to the outbox,
        as the user would before registering a feed. Returns the sign-up's answer."""
        self.get("/signup")
        answer = self.post("/signup", {"email": email, "password": password, "password_repeat": password})
        if verify and answer.status_code == 302:
            address = email.strip().lower()
            mails = outbox_mails(OUTBOXES[str(self.http.base_url).rstrip("/")], to=address)
            assert mails, f"no verification mail to {address} in the outbox"
            confirmed = self.get(link_in(mails[-1], "/verify"))
            assert confirmed.status_code == 302, confirmed.text[:500]
        return answer

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


def worker_tick(server) -> list[str]:
    """Once, what `nap worker` does at every tick: harvest the feeds due, the harvests the
    portal asked for among them. Returns the names of the feeds harvested."""
    from nap.worker import run_due_feeds

    return run_due_feeds(server.app.extensions["nap.sessions"], server.app.extensions["nap.settings"])
