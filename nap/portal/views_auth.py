"""Signing up (as a CPO), signing in and out."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from nap.portal.auth import current_user, safe_next, sign_in, sign_out
from nap.portal.pages import portal_blueprint
from nap.portal.users import MIN_PASSWORD_LENGTH, UserError, create_user, verify_login
from nap.web import db_session

blueprint = portal_blueprint("portal_auth")


@blueprint.route("/signup", methods=["GET", "POST"])
def signup():
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if password != request.form.get("password_repeat", ""):
            errors["password_repeat"] = "The two passwords differ."
        else:
            session = db_session()
            try:
                user = create_user(session, email, password, role="cpo")
                sign_in(user)
                session.commit()
            except UserError as error:
                session.rollback()
                errors[error.field] = str(error)
            except IntegrityError:  # the same address signed up a moment ago
                session.rollback()
                errors["email"] = "An account with this e-mail address exists already. Sign in instead."
            else:
                flash("Welcome. Register your first feed to start publishing.", "success")
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
            if user.role == "admin" and target == url_for("portal_cpo.my_feeds"):
                target = url_for("portal_admin.feeds")
            return redirect(target)
        error = "Wrong e-mail address or password."
    elif current_user() is not None:
        return redirect(target)
    return render_template("portal/login.html", error=error, email=email, next=target), 401 if error else 200


@blueprint.post("/logout")
def logout():
    sign_out()
    flash("You are signed out.", "success")
    return redirect(url_for("portal_public.overview"))
