"""Sending the portal's mail (verification links, invitations, password resets) with the
standard library: SMTP when NAP_SMTP_URL is set, else an .eml file per mail in the outbox
directory (var/outbox), so a development machine needs no mail server.

NAP_SMTP_URL forms:
- smtp://user:pass@host:587  STARTTLS is required: credentials and links never cross the
  network in clear, and a server that does not offer STARTTLS is an error, not a downgrade;
- smtp://host:25?starttls=off  plain SMTP, for a relay on the same host or a trusted
  network only (refused with credentials);
- smtps://user:pass@host:465  TLS from the first byte.
Certificates are checked against the system's trusted CAs. User and password may be
percent-encoded.

Mails carry account links: neither they nor their bodies are logged, only the recipient and
the subject (or the outbox file)."""
from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from nap.config import Settings

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 30


class MailError(RuntimeError):
    """The mail could not be handed over (configuration, connection, refusal)."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: str  # "tls" (smtps), "starttls" or "none"
    user: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailError("NAP_SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
    try:
        port = parts.port
    except ValueError:
        raise MailError("NAP_SMTP_URL has an invalid port") from None
    options = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "smtps":
        tls = "tls"
    elif options.get("starttls", "on") in ("off", "no", "false", "0"):
        tls = "none"
    else:
        tls = "starttls"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if tls == "none" and user:
        raise MailError("NAP_SMTP_URL: a user and password are only sent over TLS (drop starttls=off)")
    return SmtpTarget(parts.hostname, port or (465 if tls == "tls" else 587 if tls == "starttls" else 25),
                      tls, user, password)


def sender(settings: Settings) -> str:
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    try:
        ip_address(host)
        host = "localhost"  # an address literal is no mail domain
    except ValueError:
        pass
    return formataddr((settings.operator_name, f"noreply@{host}"))


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender(settings)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender(settings).rsplit("@", 1)[-1].rstrip(">") or None)
    # Links mailed for accounts should not be followed by auto-responders or quoted back.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message over: to the SMTP server, or into the outbox. Raises MailError."""
    if settings.smtp_url:
        _send_smtp(parse_smtp_url(settings.smtp_url), message)
        log.info("mail %r sent to %s", message["Subject"], message["To"])
    else:
        path = _write_outbox(Path(settings.mail_outbox_dir), message)
        log.info("mail %r to %s written to %s (no NAP_SMTP_URL)", message["Subject"], message["To"], path)


def _send_smtp(target: SmtpTarget, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    try:
        if target.tls == "tls":
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if target.tls == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise MailError(f"the mail server {target.host}:{target.port} does not offer STARTTLS")
                client.starttls(context=context)
                client.ehlo()
            if target.user:
                client.login(target.user, target.password or "")
            client.send_message(message)
    except MailError:
        raise
    except (OSError, smtplib.SMTPException) as error:
        # The error text of smtplib names the server and what it said, never the message.
        raise MailError(f"the mail server {target.host}:{target.port} refused or failed: {error}") from error


def _write_outbox(directory: Path, message: EmailMessage) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        # Random suffix: two mails in one microsecond (several workers) must not overwrite.
        path = directory / f"{stamp}-{secrets.token_hex(4)}.eml"
        # Written under another name, then renamed: a reader never sees half a mail.
        partial = path.with_suffix(".part")
        partial.write_bytes(message.as_bytes())
        partial.replace(path)
        return path.resolve()
    except OSError as error:
        raise MailError(f"could not write the mail to {directory}: {error}") from error


def send_in_background(settings: Settings, message: EmailMessage) -> threading.Thread:
    """Send from a thread, so the request answers as fast whether or not a mail goes out:
    the "forgot password" page must not tell by its timing which addresses have accounts.
    A failure is logged (without the message); the user simply asks again."""
    def _send() -> None:
        try:
            send(settings, message)
        except MailError as error:
            log.error("mail %r to %s not sent: %s", message["Subject"], message["To"], error)
        except Exception:  # a thread's crash would otherwise vanish silently
            log.exception("mail %r to %s not sent", message["Subject"], message["To"])

    thread = threading.Thread(target=_send, name="portal-mail", daemon=True)
    thread.start()
    return thread
