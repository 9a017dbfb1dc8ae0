"""Proving an e-mail address: sign-up mails a link, following it marks the address verified.
Until then a user may sign in and look around but not register a feed, so nobody publishes
under an address they do not read."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from nap.config import Settings
from nap.portal import account_tokens
from nap.portal.mail import build_message, send
from nap.store.tables import User

# A new link at most this often per address: the "send again" button must not flood a mailbox.
RESEND_INTERVAL = timedelta(seconds=60)


def is_verified(user: User) -> bool:
    return user.email_verified_at is not None


def send_verification_mail(session: Session, settings: Settings, user: User) -> bool:
    """Commit a new verification link for the user and mail it; False when one went out
    less than a minute ago (nothing sent). Raises MailError when it could not be sent."""
    if account_tokens.recently_issued(session, account_tokens.VERIFY, user.email, RESEND_INTERVAL):
        return False
    token = account_tokens.issue(session, account_tokens.VERIFY, user.email, user=user)
    # Committed before sending: the link must work the moment the mail arrives.
    session.commit()
    hours = int(account_tokens.LIFETIMES[account_tokens.VERIFY].total_seconds() // 3600)
    send(settings, build_message(settings, user.email, f"Confirm your e-mail address for {settings.operator_name}", (
        f"Hello,\n\nsomeone, hopefully you, created an account at {settings.operator_name} with this address.\n"
        f"Follow this link within {hours} hours to confirm it; then you can register your feeds:\n\n"
        f"{settings.public_base_url}/verify?token={token}\n\n"
        "If it was not you, ignore this mail: nothing is published in your name.\n")))
    return True


def verify_address(session: Session, token: object) -> User | None:
    """Use a verification link: the user whose address it proves, now verified, or None
    (unknown, used, expired, or the user has another address by now). The caller commits."""
    row = account_tokens.consume(session, account_tokens.VERIFY, token)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(timezone.utc)
    return user
