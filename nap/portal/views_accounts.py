"""The account pages reached from mailed links: confirming an address, a forgotten password,
inviting a colleague and accepting the invitation. Tokens come in the link's query string
(NAP's request log records the path only) and go back in the forms' bodies."""
from __future__ import annotations

import logging
from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from nap.portal import account_tokens
from nap.portal.auth import current_user, login_required, sign_in
from nap.portal.invitations import accept, colleagues, invitation, invite, pending_invitations
from nap.portal.mail import MailError
from nap.portal.pages import portal_blueprint, repeated_password
from nap.portal.password_reset import request_reset, reset_password
from nap.portal.users import MIN_PASSWORD_LENGTH, UserError
from nap.portal.verification import is_verified, send_verification_mail, verify_address
from nap.store.states import UserRole
from nap.web import db_session, settings

log = logging.getLogger(__name__)
blueprint = portal_blueprint("portal_accounts")

MAIL_FAILED = "The mail could not be sent just now. Try again in a few minutes."


def verified_required(view):
    """For pages that act in the user's name towards the public (registering a feed): an
    unconfirmed address gets a page that explains, with a button for a new link (403)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is not None and not is_verified(user):
            return render_template("portal/verify_needed.html"), 403
        return view(*args, **kwargs)
    return wrapper


def _link_no_good(what: str):
    return render_template("portal/link_invalid.html", what=what), 410


def _token() -> str:
    return (request.values.get("token") or "")[:200]


@blueprint.get("/verify")
def verify():
    # A session of its own (READ COMMITTED): db_session() reads GET requests as one snapshot
    # on PostgreSQL, which is for pages, not for spending a token.
    with current_app.extensions["nap.sessions"].begin() as session:
        user = verify_address(session, _token())
        email = user.email if user else None
    if email is None:
        return _link_no_good("confirmation")
    flash(f"Your address {email} is confirmed. You can register your feeds now.", "success")
    return redirect(url_for("portal_cpo.new_feed") if current_user() else url_for("portal_auth.login"))


@blueprint.post("/portal/verify/resend")
@login_required
def resend_verification():
    user = current_user()
    if is_verified(user):
        flash("Your address is confirmed already.", "success")
        return redirect(url_for("portal_cpo.new_feed"))
    try:
        sent = send_verification_mail(db_session(), settings(), user)
    except MailError as error:
        log.error("verification mail to %s not sent: %s", user.email, error)
        flash(MAIL_FAILED, "error")
    else:
        flash(f"A new link is on its way to {user.email}." if sent
              else "A link went out less than a minute ago: look for it in your mailbox (and spam folder).",
              "success")
    return redirect(url_for("portal_cpo.new_feed"))


@blueprint.route("/forgot", methods=["GET", "POST"])
def forgot():
    errors, email, sent = {}, "", False
    if request.method == "POST":
        email = request.form.get("email", "").strip()[:300]
        session = db_session()
        try:
            request_reset(session, settings(), email)
        except UserError as error:
            session.rollback()
            errors[error.field] = str(error)
        else:
            sent = True
    return render_template("portal/forgot.html", errors=errors, email=email, sent=sent), 422 if errors else 200


@blueprint.route("/reset", methods=["GET", "POST"])
def reset():
    token, errors = _token(), {}
    session = db_session()
    if request.method == "POST":
        password, errors = repeated_password(request.form)
        if not errors:
            try:
                user = reset_password(session, token, password)
            except UserError as error:
                session.rollback()
                errors[error.field] = str(error)
            else:
                if user is None:
                    session.rollback()
                    return _link_no_good("password reset")
                session.commit()
                flash("Your new password is set, and you are signed out everywhere. Sign in with it.", "success")
                return redirect(url_for("portal_auth.login"))
    if account_tokens.peek(session, account_tokens.RESET, token) is None:
        return _link_no_good("password reset")
    return render_template("portal/reset.html", token=token, errors=errors,
                           min_length=MIN_PASSWORD_LENGTH), 422 if errors else 200


@blueprint.route("/portal/colleagues", methods=["GET", "POST"])
@login_required
@verified_required
def colleagues_page():
    user = current_user()
    if user.role != UserRole.CPO:
        abort(403, description="Administrators are added with `nap users add`, not invited.")
    errors, email = {}, ""
    session = db_session()
    if request.method == "POST":
        email = request.form.get("email", "").strip()[:300]
        try:
            sent = invite(session, settings(), user, email)
        except UserError as error:
            session.rollback()
            errors[error.field] = str(error)
        except MailError as error:
            log.error("invitation to %s not sent: %s", email, error)
            flash(MAIL_FAILED, "error")
            return redirect(url_for(".colleagues_page"))
        else:
            flash(f"Invitation sent to {email.lower()}." if sent
                  else f"{email.lower()} was invited less than a minute ago.", "success")
            return redirect(url_for(".colleagues_page"))
    return render_template("portal/colleagues.html", errors=errors, email=email,
                           members=colleagues(session, user), pending=pending_invitations(session, user)), \
        422 if errors else 200


@blueprint.route("/invite", methods=["GET", "POST"])
def accept_invitation():
    token, errors = _token(), {}
    session = db_session()
    if request.method == "POST":
        password, errors = repeated_password(request.form)
        if not errors:
            try:
                user = accept(session, token, password)
                if user is not None:
                    sign_in(user)
                    session.commit()
            except UserError as error:
                session.rollback()
                errors[error.field] = str(error)
            except IntegrityError:  # the address signed up a moment ago
                session.rollback()
                errors["password"] = "An account with this e-mail address exists already. Sign in instead."
            else:
                if user is None:
                    return _link_no_good("invitation")
                flash("Welcome. You see and manage your organisation's feeds.", "success")
                return redirect(url_for("portal_cpo.my_feeds"))
    found = invitation(session, token)
    if found is None:
        return _link_no_good("invitation")
    row, inviter = found
    return render_template("portal/invite_accept.html", token=token, email=row.email, inviter=inviter,
                           errors=errors, min_length=MIN_PASSWORD_LENGTH), 422 if errors else 200
