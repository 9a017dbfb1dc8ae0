"""Signing up (as a CPO), signing in and out, changing one's password."""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from nap.portal.auth import current_user, login_required, safe_next, sign_in, sign_out
from nap.portal.mail import MailError
from nap.portal.pages import portal_blueprint, repeated_password
from nap.portal.users import MIN_PASSWORD_LENGTH, UserError, change_password, create_user, verify_login
from nap.portal.verification import send_verification_mail
from nap.store.states import UserRole
from nap.web import db_session, settings

log = logging.getLogger(__name__)
blueprint = portal_blueprint("portal_auth")


@blueprint.route("/signup", methods=["GET", "POST"])
def signup():
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password, errors = repeated_password(request.form)
        if not errors:
            session = db_session()
            try:
                # Unverified until the mailed link is followed: signing in works at once,
                # registering a feed only after (nap/portal/verification.py).
                user = create_user(session, email, password, role=UserRole.CPO, verified=False)
                sign_in(user)
                session.commit()
            except UserError as error:
                session.rollback()
                errors[error.field] = str(error)
            except IntegrityError:  # the same address signed up a moment ago
                session.rollback()
                errors["email"] = "An account with this e-mail address exists already. Sign in instead."
            else:
                try:
                    send_verification_mail(session, settings(), user)
                except MailError as error:
                    log.error("verification mail to %s not sent: %s", user.email, error)
                    flash("Welcome. The mail to confirm your address could not be sent just now; "
                          "ask for a new one on the page to register a feed.", "error")
                else:
                    flash(f"Welcome. We sent a link to {user.email}: follow it to confirm your address, "
                          "then register your first feed.", "success")
                return redirect(url_for("portal_cpo.my_feeds"))
    return render_template("portal/signup.html", errors=errors, email=email,
                           min_length=MIN_PASSWORD_LENGTH), 422 if errors else 200


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next"), url_for("portal_cpo.my_feeds"))
    error, email = None, ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        session = db_session()
        user = verify_login(session, email, request.form.get("password", ""))
        if user is not None:
            sign_in(user)
            session.commit()
            if user.role == UserRole.ADMIN and target == url_for("portal_cpo.my_feeds"):
                target = url_for("portal_admin.feeds")
            return redirect(target)
        error = "Wrong e-mail address or password."
    elif current_user() is not None:
        return redirect(target)
    return render_template("portal/login.html", error=error, email=email, next=target), 401 if error else 200


@blueprint.post("/logout")
def logout():
    sign_out()
    # The revocation must be stored: clearing the browser's cookie alone would leave any
    # copy of it working until it expires.
    db_session().commit()
    flash("You are signed out.", "success")
    return redirect(url_for("portal_public.overview"))


@blueprint.route("/portal/password", methods=["GET", "POST"])
@login_required
def password():
    errors = {}
    if request.method == "POST":
        user = current_user()
        new, errors = repeated_password(request.form)
        if not check_password_hash(user.password_hash, request.form.get("current_password", "")):
            errors = {"current_password": "This is not your current password."}
        elif not errors:
            session = db_session()
            try:
                change_password(session, user, new)
            except UserError as error:
                errors[error.field] = str(error)
            else:
                # Every session of the user has ended, this one too; this browser gets a new
                # one, so whoever changed the password stays signed in here and only here.
                sign_in(user)
                session.commit()
                flash("Your password is changed, and you are signed out everywhere else.", "success")
                return redirect(url_for("portal_cpo.my_feeds"))
    return render_template("portal/password.html", errors=errors,
                           min_length=MIN_PASSWORD_LENGTH), 422 if errors else 200
