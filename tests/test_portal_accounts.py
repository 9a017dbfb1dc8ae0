"""Accounts over real HTTP and a real SMTP server (aiosmtpd in this process), on SQLite and
PostgreSQL: a password reset end to end (STARTTLS and AUTH), inviting a colleague who then
manages the same feeds, e-mail verification before a feed can be registered (links read from
the outbox), the password rule, and links that are unknown, used or expired."""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from nap.app import create_app
from nap.cli import main
from nap.portal import account_tokens
from nap.portal.mail import MailError, build_message, parse_smtp_url, send, sender
from nap.portal.users import UserError, change_password, create_user
from nap.store.tables import AccountToken, Feed, User
from tests.portal_fixtures import OUTBOXES, PASSWORD, PortalClient, add_user, link_in, outbox_mails
from tests.settings_helpers import replace
from tests.smtp_fixtures import PASSWORD as SMTP_PASSWORD, USER as SMTP_USER, SmtpServer

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def clients():
    made: list[PortalClient] = []

    def make(server) -> PortalClient:
        made.append(PortalClient(server.url))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def smtp():
    servers: list[SmtpServer] = []

    def start(tls_dir=None) -> SmtpServer:
        servers.append(SmtpServer(tls_dir))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def mailing_nap(live_server, settings):
    """Start NAP sending its mail to `smtp_url`."""
    def start(smtp_url: str):
        server = live_server(create_app(replace(settings, smtp_url=smtp_url)))
        OUTBOXES[server.url] = Path(settings.mail_outbox_dir)
        return server
    return start


def _token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_a_password_reset_through_smtp_ends_every_session_and_works_once(
        smtp, mailing_nap, clients, sessions, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    mail_server = smtp(tls_dir=tmp_path)
    # NAP checks the server's certificate: here it is the test's own, trusted through the
    # variable OpenSSL reads for its default CA file.
    monkeypatch.setenv("SSL_CERT_FILE", str(mail_server.cert_path))
    nap = mailing_nap(f"smtp://{quote(SMTP_USER)}:{quote(SMTP_PASSWORD, safe='')}@127.0.0.1:{mail_server.port}")
    add_user(sessions, "alice@example.com")
    laptop, phone = clients(nap), clients(nap)
    assert laptop.login("alice@example.com").status_code == 302
    assert phone.login("alice@example.com").status_code == 302

    visitor = clients(nap)
    login_page = visitor.get("/login")
    assert 'href="/forgot"' in login_page.text and "Forgot your password?" in login_page.text
    assert visitor.get("/forgot").status_code == 200
    unknown = visitor.post("/forgot", {"email": "nobody@example.com"})
    known = visitor.post("/forgot", {"email": "Alice@Example.com"})
    # The same answer whether or not the address has an account.
    assert unknown.status_code == known.status_code == 200

    def neutral(page: str, email: str) -> str:
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page).replace(email, "ADDRESS")
    assert neutral(known.text, "Alice@Example.com") == neutral(unknown.text, "nobody@example.com")
    assert "If an account has the address" in unknown.text and "If an account has the address" in known.text
    assert visitor.post("/forgot", {"email": "not an address"}).status_code == 422

    [mail] = mail_server.inbox.wait_for("alice@example.com")
    assert mail_server.inbox.logins == [SMTP_USER] and mail_server.inbox.tls_used == [True]
    assert mail["Subject"].startswith("Set a new password") and "noreply@" in mail["From"]
    link = link_in(mail, "/reset")
    token = _token_of(link)
    # Asking again at once mails nothing more (no flooding a mailbox through the form).
    assert visitor.post("/forgot", {"email": "alice@example.com"}).status_code == 200
    with sessions() as session:
        rows = session.scalars(select(AccountToken).where(AccountToken.purpose == "reset")).all()
        assert [row.id_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        assert rows[0].expires_at - rows[0].created_at == timedelta(hours=1)

    stranger = clients(nap)
    form = stranger.get(link)
    assert form.status_code == 200 and 'autocomplete="new-password"' in form.text
    spaces = stranger.post("/reset", {"token": token, "password": " " * 12, "password_repeat": " " * 12})
    assert spaces.status_code == 422 and "not all spaces" in spaces.text
    short = stranger.post("/reset", {"token": token, "password": "short", "password_repeat": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = stranger.post("/reset", {"token": token, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["location"] == "/login"

    # Every session of alice has ended; the old password is refused, the new one works.
    for device in (laptop, phone):
        assert device.get("/portal/").status_code == 302
    assert clients(nap).login("alice@example.com").status_code == 401
    assert clients(nap).login("alice@example.com", NEW_PASSWORD).status_code == 302
    # The link works once.
    assert stranger.get(link).status_code == 410
    again = stranger.post("/reset", {"token": token, "password": "yet another passphrase",
                                     "password_repeat": "yet another passphrase"})
    assert again.status_code == 410 and "no longer works" in again.text
    with sessions() as session:
        assert check_password_hash(session.scalar(select(User.password_hash)), NEW_PASSWORD)
    # NAP's own logs (not those of the test's HTTP client or of werkzeug's test server, which
    # production does not run: gunicorn's access log is off) hold neither token nor password.
    ours = [record.getMessage() for record in caplog.records if not record.name.startswith(("httpx", "httpcore",
                                                                                             "werkzeug"))]
    assert ours and not [line for line in ours if token in line or SMTP_PASSWORD in line]
    # Nothing went to the address without an account.
    assert mail_server.inbox.to("nobody@example.com") == []


def test_a_reset_link_dies_when_the_password_changes_and_when_it_expires(sessions):
    with sessions.begin() as session:
        user = create_user(session, "alice@example.com", PASSWORD)
        early = account_tokens.issue(session, "reset", user.email, user=user)
        late = account_tokens.issue(session, "reset", user.email, user=user)
        assert account_tokens.peek(session, "reset", early) is not None
        assert account_tokens.peek(session, "verify", early) is None  # a link of another kind
        change_password(session, user, NEW_PASSWORD)
        assert account_tokens.peek(session, "reset", early) is None
        fresh = account_tokens.issue(session, "reset", user.email, user=user)
        later = datetime.now(timezone.utc) + timedelta(hours=1, seconds=1)
        assert account_tokens.consume(session, "reset", fresh, now=later) is None
        assert account_tokens.consume(session, "reset", fresh) is not None
        assert account_tokens.consume(session, "reset", fresh) is None
        for wrong in (None, "", 42, "x" * 1000, late + "x"):
            assert account_tokens.peek(session, "reset", wrong) is None


def test_an_invited_colleague_sets_a_password_and_manages_the_same_feeds(
        smtp, mailing_nap, clients, sessions, demo_cpo):
    mail_server = smtp()
    # A relay without TLS must be asked for explicitly.
    nap = mailing_nap(f"smtp://127.0.0.1:{mail_server.port}?starttls=off")
    cpo = demo_cpo(locations=2)
    add_user(sessions, "alice@example.com")
    add_user(sessions, "carol@example.com")
    alice = clients(nap)
    alice.login("alice@example.com")
    first = alice.register_feed(cpo, name="first", party_id="ABC")
    assert first.status_code == 302
    first_id = int(first.headers["location"].rsplit("/", 1)[1])

    page = alice.get("/portal/colleagues")
    assert page.status_code == 200 and "Invite a colleague" in page.text
    assert alice.post("/portal/colleagues", {"email": "alice@example.com"}).status_code == 422
    assert alice.post("/portal/colleagues", {"email": "no address"}).status_code == 422
    sent = alice.post("/portal/colleagues", {"email": "Bob@Example.com"})
    assert sent.status_code == 302
    assert "Invitation sent to bob@example.com" in alice.follow(sent).text
    [mail] = mail_server.inbox.wait_for("bob@example.com")
    assert mail["Subject"] == "alice@example.com invites you to National Access Point"
    assert "bob@example.com" in alice.get("/portal/colleagues").text  # pending
    link = link_in(mail, "/invite")

    # An address with an account already: the same answer, a mail that says so, no joining.
    existing = alice.post("/portal/colleagues", {"email": "carol@example.com"})
    assert existing.status_code == 302 and "Invitation sent to carol@example.com" in alice.follow(existing).text
    [refusal] = mail_server.inbox.wait_for("carol@example.com")
    assert "has an account there already" in refusal.get_body(("plain",)).get_content()
    assert "/invite?token=" not in refusal.get_body(("plain",)).get_content()

    bob = clients(nap)
    form = bob.get(link)
    assert form.status_code == 200 and 'data-testid="invited-email">bob@example.com<' in form.text
    token = _token_of(link)
    differ = bob.post("/invite", {"token": token, "password": PASSWORD, "password_repeat": PASSWORD + "!"})
    assert differ.status_code == 422
    blank = bob.post("/invite", {"token": token, "password": "\t" * 14, "password_repeat": "\t" * 14})
    assert blank.status_code == 422 and "not all spaces" in blank.text
    joined = bob.post("/invite", {"token": token, "password": PASSWORD, "password_repeat": PASSWORD})
    assert joined.status_code == 302 and joined.headers["location"] == "/portal/"
    mine = bob.follow(joined)
    assert mine.status_code == 200 and ">first</a>" in mine.text
    assert bob.get(f"/portal/feeds/{first_id}").status_code == 200
    assert clients(nap).get(link).status_code == 410  # once only

    # Feeds registered later by either are the other's too; carol sees none of them.
    second = bob.register_feed(cpo, name="second", party_id="XYZ")
    assert second.status_code == 302
    second_id = int(second.headers["location"].rsplit("/", 1)[1])
    assert alice.get(f"/portal/feeds/{second_id}").status_code == 200
    assert ">second</a>" in alice.get("/portal/").text
    carol = clients(nap)
    carol.login("carol@example.com")
    assert carol.get(f"/portal/feeds/{first_id}").status_code == 404
    assert carol.get(f"/portal/feeds/{second_id}").status_code == 404
    assert ">first</a>" not in carol.get("/portal/").text
    colleagues = alice.get("/portal/colleagues").text
    assert "bob@example.com" in colleagues.split('data-testid="members"', 1)[1].split("</ul>", 1)[0]
    with sessions() as session:
        users = {user.email: user for user in session.scalars(select(User))}
        assert users["bob@example.com"].email_verified_at is not None
        assert users["bob@example.com"].organisation_id == users["alice@example.com"].organisation_id is not None
        assert users["carol@example.com"].organisation_id is None


def test_a_feed_is_registered_only_after_the_address_is_verified(clients, nap_server, sessions, settings, demo_cpo):
    cpo = demo_cpo(locations=2)
    dana = clients(nap_server)
    signed_up = dana.signup("dana@example.com", verify=False)
    assert signed_up.status_code == 302
    assert "We sent a link to dana@example.com" in dana.follow(signed_up).text

    refused = dana.get("/portal/feeds/new")
    assert refused.status_code == 403 and "Confirm your e-mail address first" in refused.text
    posted = dana.post("/portal/feeds/new", {"name": "early", "versions_url": cpo.versions_url, "auth_mode": "static",
                                             "token": cpo.token, "country_code": "DE", "party_id": "ABC"})
    assert posted.status_code == 403
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Feed)) == 0
    # A new link at most once a minute.
    resent = dana.post("/portal/verify/resend")
    assert resent.status_code == 302 and "less than a minute ago" in dana.follow(resent).text

    [mail] = outbox_mails(settings.mail_outbox_dir, to="dana@example.com")
    assert mail["Subject"] == "Confirm your e-mail address for National Access Point"
    link = link_in(mail, "/verify")
    assert link.startswith("/verify?token=")
    with sessions() as session:
        row = session.scalar(select(AccountToken).where(AccountToken.purpose == "verify"))
        assert row.id_hash == hashlib.sha256(_token_of(link).encode()).hexdigest()
        assert row.expires_at - row.created_at == timedelta(hours=24)
    confirmed = dana.get(link)
    assert confirmed.status_code == 302 and confirmed.headers["location"] == "/portal/feeds/new"
    assert dana.get(link).status_code == 410  # used
    assert dana.register_feed(cpo, name="later").status_code == 302

    # The link also works in a browser that is not signed in.
    erin = clients(nap_server)
    erin.signup("erin@example.com", verify=False)
    [mail] = outbox_mails(settings.mail_outbox_dir, to="erin@example.com")
    answer = clients(nap_server).get(link_in(mail, "/verify"))
    assert answer.status_code == 302 and answer.headers["location"] == "/login"
    assert erin.get("/portal/feeds/new").status_code == 200


@pytest.mark.parametrize("path", ["/verify", "/reset", "/invite"])
def test_unknown_or_malformed_links_answer_410_never_500(clients, nap_server, path):
    visitor = clients(nap_server)
    for query in ("", "?token=", "?token=nope", "?token=" + "x" * 5000, "?token=%00%ff", "?token=a&token=b"):
        assert visitor.get(path + query).status_code == 410, query
    if path != "/verify":
        visitor.get("/login")
        answer = visitor.post(path, {"token": "nope", "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
        assert answer.status_code == 410
        assert visitor.post(path, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}).status_code == 410


def test_passwords_need_12_characters_that_are_not_all_whitespace(clients, nap_server, sessions, database_url):
    for weak in (" " * 12, "\t \n" * 5, "\u2003" * 12, "eleven char"):
        with sessions.begin() as session:
            with pytest.raises(UserError):
                create_user(session, "weak@example.com", weak)
        answer = clients(nap_server).signup("weak@example.com", weak, verify=False)
        assert answer.status_code == 422, repr(weak)
    assert clients(nap_server).signup("ok@example.com", "  twelve  ok ", verify=False).status_code == 302

    add_user(sessions, "frank@example.com")
    frank = clients(nap_server)
    frank.login("frank@example.com")
    frank.get("/portal/password")
    changed = frank.post("/portal/password", {"current_password": PASSWORD, "password": " " * 20,
                                              "password_repeat": " " * 20})
    assert changed.status_code == 422 and "not all spaces" in changed.text

    added = CliRunner().invoke(main, ["users", "add", "--email", "g@example.com", "--password-stdin"],
                               input=" " * 16 + "\n", env={"NAP_DATABASE_URL": database_url})
    assert added.exit_code == 1 and "not all spaces" in added.output


def test_users_from_before_the_migration_and_from_the_command_line_count_as_verified(database_url, sessions):
    from alembic import command

    from nap.store.db import get_engine
    from nap.store.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0010")
    created = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
    with get_engine(database_url).begin() as connection:
        # Only the columns of 0010: the table has no others at this point.
        connection.execute(User.__table__.insert().values(email="old@example.com", password_hash="x", role="cpo",
                                                          created_at=created))
    upgrade(database_url)
    with sessions() as session:
        old = session.scalar(select(User).where(User.email == "old@example.com"))
        assert old.email_verified_at == created and old.organisation_id is None
    added = CliRunner().invoke(main, ["users", "add", "--email", "new@example.com", "--password-stdin"],
                               input="a long enough password\n", env={"NAP_DATABASE_URL": database_url})
    assert added.exit_code == 0, added.output
    with sessions() as session:
        assert session.scalar(select(User.email_verified_at).where(User.email == "new@example.com")) is not None


def test_mail_settings_and_the_outbox(settings, smtp, tmp_path):
    assert parse_smtp_url("smtp://u%40x:p%2Fw@mail.example:2525").__dict__ == {
        "host": "mail.example", "port": 2525, "tls": "starttls", "user": "u@x", "password": "p/w"}
    assert parse_smtp_url("smtps://mail.example").port == 465
    assert parse_smtp_url("smtp://mail.example").port == 587
    assert parse_smtp_url("smtp://relay?starttls=off").__dict__ == {
        "host": "relay", "port": 25, "tls": "none", "user": None, "password": None}
    for wrong in ("http://mail.example", "smtp://", "smtp://u:p@relay?starttls=off", "smtp://h:99999"):
        with pytest.raises(MailError):
            parse_smtp_url(wrong)
    assert sender(settings) == "National Access Point <noreply@localhost>"
    assert sender(replace(settings, public_base_url="https://nap.example.org")) == \
        "National Access Point <noreply@nap.example.org>"
    assert sender(replace(settings, mail_from="NAP <mail@nap.example>")) == "NAP <mail@nap.example>"

    # STARTTLS is not optional: a server that does not offer it gets nothing.
    plain = smtp()
    message = build_message(settings, "x@example.com", "Hello", "body")
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        send(replace(settings, smtp_url=f"smtp://127.0.0.1:{plain.port}"), message)
    with pytest.raises(MailError):
        send(replace(settings, smtp_url=f"smtp://127.0.0.1:{plain.port + 1 if plain.port < 65535 else 1}?starttls=off"),
             message)
    assert plain.inbox.mails == []

    outbox = tmp_path / "mail" / "out"
    send(replace(settings, mail_outbox_dir=str(outbox)), message)
    [mail] = outbox_mails(outbox)
    assert mail["To"] == "x@example.com" and mail["Subject"] == "Hello"
    assert [path.suffix for path in outbox.iterdir()] == [".eml"]


def test_nap_users_invite_mails_an_invitation_to_the_outbox(database_url, sessions, tmp_path):
    add_user(sessions, "alice@example.com")
    add_user(sessions, "root@example.com", role="admin")
    outbox = tmp_path / "cli-outbox"
    env = {"NAP_DATABASE_URL": database_url, "NAP_MAIL_OUTBOX_DIR": str(outbox),
           "NAP_PUBLIC_BASE_URL": "https://nap.example.org/"}
    runner = CliRunner()
    invited = runner.invoke(main, ["users", "invite", "--email", "Bob@Example.com", "--by", "alice@example.com"], env=env)
    assert invited.exit_code == 0 and "invitation mailed to bob@example.com" in invited.output
    [mail] = outbox_mails(outbox, to="bob@example.com")
    body = mail.get_body(("plain",)).get_content()
    assert "https://nap.example.org/invite?token=" in body and mail["From"] == "National Access Point <noreply@nap.example.org>"
    again = runner.invoke(main, ["users", "invite", "--email", "bob@example.com", "--by", "alice@example.com"], env=env)
    assert again.exit_code == 0 and "nothing sent" in again.output
    for by in ("nobody@example.com", "root@example.com"):
        refused = runner.invoke(main, ["users", "invite", "--email", "c@example.com", "--by", by], env=env)
        assert refused.exit_code == 1 and "no CPO user" in refused.output
    wrong = runner.invoke(main, ["users", "invite", "--email", "not an address", "--by", "alice@example.com"], env=env)
    assert wrong.exit_code == 1 and "e-mail address" in wrong.output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccountToken)) == 1
