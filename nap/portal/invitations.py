"""Inviting a colleague by e-mail: the invitee follows the mailed link (24 hours, once), sets
a password and from then on sees and manages the same feeds as the inviter, those registered
later included (access follows the organisation, nap/portal/ownership.py).

An address that has an account already cannot join (merging two users' feeds is for the
administrators); it gets a mail saying so, and the inviter sees the same answer as for any
other address, so the form does not tell which addresses have accounts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.config import Settings
from nap.portal import account_tokens
from nap.portal.mail import build_message, send
from nap.portal.users import UserError, create_user, normalize_email
from nap.store.states import UserRole
from nap.store.tables import AccountToken, Organisation, User

# One invitation per address this often: the form must not flood anyone's mailbox.
RESEND_INTERVAL = timedelta(seconds=60)


def ensure_organisation(session: Session, user: User) -> int:
    """The user's organisation, made now if the user has none yet."""
    if user.organisation_id is None:
        organisation = Organisation(created_at=datetime.now(timezone.utc))
        session.add(organisation)
        session.flush()
        user.organisation_id = organisation.id
    return user.organisation_id


def colleagues(session: Session, user: User) -> list[User]:
    """The other members of the user's organisation."""
    if user.organisation_id is None:
        return []
    return list(session.scalars(select(User).where(User.organisation_id == user.organisation_id,
                                                   User.id != user.id).order_by(User.email)))


def pending_invitations(session: Session, user: User) -> list[AccountToken]:
    if user.organisation_id is None:
        return []
    return list(session.scalars(select(AccountToken).where(
        AccountToken.purpose == account_tokens.INVITE, AccountToken.organisation_id == user.organisation_id,
        AccountToken.used_at.is_(None), AccountToken.expires_at > datetime.now(timezone.utc))
        .order_by(AccountToken.created_at)))


def invite(session: Session, settings: Settings, inviter: User, raw_email: str) -> bool:
    """Mail an invitation to join the inviter's organisation; commits. False when this
    address was invited a moment ago (nothing sent). Raises UserError for a wrong address,
    MailError when the mail could not be sent."""
    email = normalize_email(raw_email)
    if email == inviter.email:
        raise UserError("That is your own address: invite a colleague's.")
    if account_tokens.recently_issued(session, account_tokens.INVITE, email, RESEND_INTERVAL):
        return False
    existing = session.scalar(select(User).where(User.email == email))
    hours = int(account_tokens.LIFETIMES[account_tokens.INVITE].total_seconds() // 3600)
    if existing is not None:
        # Recorded as a spent invitation, so the resend limit covers this case too.
        account_tokens.consume(session, account_tokens.INVITE,
                               account_tokens.issue(session, account_tokens.INVITE, email, invited_by=inviter.id))
        session.commit()
        body = (f"Hello,\n\n{inviter.email} invited you to manage their charging data feeds at "
                f"{settings.operator_name}.\nThis address has an account there already, so it cannot join; "
                f"ask {inviter.email} to invite another address, or the access point's administrators to "
                "link the accounts.\n")
    else:
        organisation_id = ensure_organisation(session, inviter)
        token = account_tokens.issue(session, account_tokens.INVITE, email, organisation_id=organisation_id,
                                     invited_by=inviter.id)
        session.commit()
        body = (f"Hello,\n\n{inviter.email} invited you to manage their charging data feeds at "
                f"{settings.operator_name}.\nFollow this link within {hours} hours to choose your password "
                f"(it works once):\n\n{settings.public_base_url}/invite?token={token}\n\n"
                "If you do not know them, ignore this mail.\n")
    send(settings, build_message(settings, email, f"{inviter.email} invites you to {settings.operator_name}", body))
    return True


def invitation(session: Session, token: object) -> tuple[AccountToken, str] | None:
    """The live invitation and the inviter's address ("" once the inviter is gone)."""
    row = account_tokens.peek(session, account_tokens.INVITE, token)
    if row is None or row.organisation_id is None:
        return None
    inviter = session.get(User, row.invited_by) if row.invited_by else None
    return row, inviter.email if inviter else ""


def accept(session: Session, token: object, password: str) -> User | None:
    """Use the invitation: the new, verified user in the inviter's organisation, or None
    when the link is no good. Raises UserError (password against the rules, or an account
    made for the address since), before the link is spent. The caller commits."""
    row = invitation(session, token)
    if row is None:
        return None
    email = row[0].email
    user = create_user(session, email, password, role=UserRole.CPO, verified=True,
                       organisation_id=row[0].organisation_id)
    if account_tokens.consume(session, account_tokens.INVITE, token) is None:
        session.rollback()  # a concurrent click won: no second account
        return None
    return user
