"""Forgotten passwords: a mailed link, valid for one hour and once, lets the owner of the
address set a new password. Asking never tells whether the address has an account: the
answer is the same, and the mail goes out from a background thread so that the answer
takes as long either way. A reset ends every session of the user, like a password change."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.config import Settings
from nap.portal import account_tokens
from nap.portal.mail import build_message, send_in_background
from nap.portal.users import change_password, check_password_rules, normalize_email
from nap.store.tables import User

# At most one reset mail per address this often: the form must not flood anyone's mailbox.
REQUEST_INTERVAL = timedelta(seconds=60)


def request_reset(session: Session, settings: Settings, raw_email: str) -> None:
    """Mail a reset link if the address has an account (and none went out lately); commits.
    Raises UserError only for what is not an address at all."""
    email = normalize_email(raw_email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None or account_tokens.recently_issued(session, account_tokens.RESET, email, REQUEST_INTERVAL):
        return
    token = account_tokens.issue(session, account_tokens.RESET, email, user=user)
    session.commit()
    minutes = int(account_tokens.LIFETIMES[account_tokens.RESET].total_seconds() // 60)
    send_in_background(settings, build_message(settings, email, f"Set a new password at {settings.operator_name}", (
        f"Hello,\n\nsomeone, hopefully you, asked to set a new password for this address at {settings.operator_name}.\n"
        f"Follow this link within {minutes} minutes to choose one (it works once):\n\n"
        f"{settings.public_base_url}/reset?token={token}\n\n"
        "Setting it signs you out everywhere. If you did not ask, ignore this mail: your password stays as it is.\n")))


def reset_password(session: Session, token: object, new_password: str) -> User | None:
    """Use a reset link to set the password: the user, or None when the link is no good.
    Raises UserError for a password against the rules, before the link is spent. The caller
    commits."""
    check_password_rules(new_password)
    row = account_tokens.consume(session, account_tokens.RESET, token)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    change_password(session, user, new_password)  # ends every session of the user
    account_tokens.spend_all(session, account_tokens.RESET, user.id)
    # The link reached the mailbox: the address is proven as well.
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(timezone.utc)
    return user

