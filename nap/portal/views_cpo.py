"""The CPO's pages: its feeds, registering one, a feed's health and history, changing how
NAP reaches it, withdrawing it, its quality report, and "where did my charger go?".
Admins may open every feed's pages."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func

from nap.feeds import FeedError, issue_push_token, recent_runs, waiting_harvest_request
from nap.parties import claims
from nap.portal.auth import current_user, login_required
from nap.store.feed_events import latest_event, record_event, recent_events
from nap.portal.feed_edit import EDITABLE, INTERVAL_RANGE, apply_connection, parse_connection_form
from nap.portal.findings import count_current_findings, current_findings
from nap.portal.health import STATUS_TEXT, feed_health
from nap.portal.lifecycle import decision, reason_of
from nap.portal.lookup import Lookup
from nap.portal.ownership import visible_feed, visible_feeds
from nap.portal.pages import portal_blueprint
from nap.portal.views_statistics import feed_worst_evses
from nap.portal.views_accounts import verified_required
from nap.portal.registration import AUTH_MODES, FeedForm, parse_feed_form, register_feed, replace_token, run_handshake
from nap.portal.withdrawal import WITHDRAWABLE, WithdrawError, withdraw
from nap.quality import cached_report
from nap.store.availability import feed_availability
from nap.store.run_report import latest_run_report
from nap.store.states import PUSH_REFUSED_FEED_STATUSES
from nap.store.tables import Feed, Finding
from nap.web import db_session, settings

blueprint = portal_blueprint("portal_cpo", url_prefix="/portal")
PAGE_SIZE = 100
HARVEST_FINDINGS_SHOWN = 200


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _feed_or_404(feed_id: int) -> Feed:
    feed = visible_feed(db_session(), current_user(), feed_id)
    if feed is None:
        abort(404, description="You have no feed with this number.")
    return feed


@blueprint.get("/")
@login_required
def my_feeds():
    session = db_session()
    now = _now()
    feeds = [feed_health(session, feed, now) for feed in visible_feeds(session, current_user())]
    return render_template("portal/my_feeds.html", feeds=feeds)


@blueprint.route("/feeds/new", methods=["GET", "POST"])
@login_required
@verified_required  # nobody publishes under an address they have not proven to read
def new_feed():
    form, errors = FeedForm(), {}
    if request.method == "POST":
        form, errors = parse_feed_form(request.form)
        if not errors:
            session = db_session()
            try:
                feed = register_feed(session, current_user(), form, settings())
                session.commit()
            except FeedError as error:
                session.rollback()
                errors["name" if "name" in str(error) else "party_id"] = str(error)
            else:
                flash(f"Feed {feed.name} registered. The administrators will review it; "
                      "harvesting starts once they approve it.", "success")
                if form.auth_mode == "handshake":
                    _handshake_and_tell(feed.id)
                return redirect(url_for(".feed_page", feed_id=feed.id))
    return render_template("portal/feed_new.html", form=form, errors=errors, modes=AUTH_MODES), 422 if errors else 200


def _closed(feed: Feed) -> bool:
    """A withdrawn or rejected feed talks to its CPO no more: a handshake would claim its
    parties again. Says so when it is."""
    if feed.status in EDITABLE:
        return False
    flash(f"{feed.name} is {feed.status}: NAP no longer connects to it.", "error")
    return True


def _handshake_and_tell(feed_id: int) -> None:
    sessions = current_app.extensions["nap.sessions"]
    result = run_handshake(sessions, settings(), feed_id, current_user().id)
    flash(f"Credentials handshake {'succeeded' if result.ok else 'failed'}: {result.message}",
          "success" if result.ok else "error")


@blueprint.get("/feeds/<int:feed_id>")
@login_required
def feed_page(feed_id: int):
    feed = _feed_or_404(feed_id)
    return _render_feed_page(feed)


def _render_feed_page(feed: Feed, form=None, form_errors: dict | None = None, status: int = 200):
    session = db_session()
    errors = current_findings(session, [feed.id], Finding.severity == "error", limit=20)
    why = decision(session, feed)
    return render_template(
        "portal/feed.html", feed=feed, health=feed_health(session, feed, _now()), status_text=STATUS_TEXT,
        decision=why, decision_reason=reason_of(why), editable=feed.status in EDITABLE,
        withdrawable=feed.status in WITHDRAWABLE, form=form, form_errors=form_errors or {},
        interval_range=INTERVAL_RANGE,
        runs=recent_runs(session, feed.id, 20), events=recent_events(session, feed.id),
        harvest_requested=waiting_harvest_request(session, feed),
        handshake=latest_event(session, feed.id, "handshake"),
        # Revoked ones too: the CPO learns that a claim ended (the events say why).
        parties=[(c.country_code, c.party_id, c.state) for c in claims(session, feed.id, with_revoked=True)],
        errors=errors,
        error_count=count_current_findings(session, [feed.id], Finding.severity == "error"),
        modes=AUTH_MODES, availability=_availability(session, feed.id), report=latest_run_report(session, feed.id),
        worst=feed_worst_evses(session, feed.id),
        degraded_share=settings().harvest_degraded_evse_share), status


def _availability(session, feed_id: int) -> list[tuple[str, object]]:
    """From the status history: the last day and the last week."""
    now = _now()
    return [(label, feed_availability(session, feed_id, now - span, now))
            for label, span in (("last 24 hours", timedelta(days=1)), ("last 7 days", timedelta(days=7)))]


@blueprint.post("/feeds/<int:feed_id>/credentials")
@login_required
def new_credentials(feed_id: int):
    feed = _feed_or_404(feed_id)
    if _closed(feed):
        return redirect(url_for(".feed_page", feed_id=feed.id))
    session = db_session()
    mode = request.form.get("auth_mode", "static")
    try:
        replace_token(session, feed, request.form.get("token", "").strip(), current_user(), mode == "handshake")
        session.commit()
    except FeedError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".feed_page", feed_id=feed.id))
    flash("New credentials saved.", "success")
    if mode == "handshake":
        _handshake_and_tell(feed.id)
    return redirect(url_for(".feed_page", feed_id=feed.id))


@blueprint.post("/feeds/<int:feed_id>/connection")
@login_required
def edit_connection(feed_id: int):
    """New versions URL, interval or token; blank fields keep what the feed has."""
    feed = _feed_or_404(feed_id)
    form, errors = parse_connection_form(request.form, feed)
    if errors:
        return _render_feed_page(feed, form, errors, 422)
    session = db_session()
    try:
        edited = apply_connection(session, feed, form, current_user())
        session.commit()
    except FeedError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".feed_page", feed_id=feed.id))
    flash(f"Saved: {', '.join(edited.changes)}." if edited.changes else "Nothing changed.", "success")
    if edited.handshake:
        _handshake_and_tell(feed.id)
    return redirect(url_for(".feed_page", feed_id=feed.id))


@blueprint.route("/feeds/<int:feed_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_feed(feed_id: int):
    """Withdrawing takes the feed's data out of the publication: the GET page says so and
    asks for a confirmation, which the POST must carry."""
    feed = _feed_or_404(feed_id)
    if feed.status not in WITHDRAWABLE:
        flash(f"{feed.name} is {feed.status}: there is nothing to withdraw.", "error")
        return redirect(url_for(".feed_page", feed_id=feed.id))
    session = db_session()
    if request.method == "GET" or request.form.get("confirm") != "withdraw":
        published = feed_health(session, feed, _now()).published_locations
        code = 200 if request.method == "GET" else 422
        return render_template("portal/feed_withdraw.html", feed=feed, published=published,
                               unconfirmed=request.method == "POST"), code
    try:
        # Runs older than a harvest may last were abandoned (a crashed worker): they block nothing.
        unpublished = withdraw(session, feed, current_user(), request.form.get("reason", ""),
                               running_since=_now() - timedelta(seconds=settings().harvest_max_seconds))
        session.commit()
    except WithdrawError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".feed_page", feed_id=feed.id))
    flash(f"{feed.name} is withdrawn: {unpublished} published objects left the publication.", "success")
    return redirect(url_for(".feed_page", feed_id=feed.id))


@blueprint.post("/feeds/<int:feed_id>/handshake")
@login_required
def handshake_again(feed_id: int):
    feed = _feed_or_404(feed_id)
    if _closed(feed):
        return redirect(url_for(".feed_page", feed_id=feed.id))
    _handshake_and_tell(feed.id)
    return redirect(url_for(".feed_page", feed_id=feed.id))


@blueprint.post("/feeds/<int:feed_id>/push-token")
@login_required
def push_token(feed_id: int):
    feed = _feed_or_404(feed_id)
    if feed.status in PUSH_REFUSED_FEED_STATUSES:
        # A pending or suspended feed must not be able to write to NAP by pushing.
        abort(409, description=f"A {feed.status} feed cannot push; push tokens are issued to approved, active feeds.")
    session = db_session()
    token = issue_push_token(session, feed)
    record_event(session, feed.id, "push_token", f"new push token issued to {current_user().email}",
                 user_id=current_user().id)
    session.commit()
    # Shown once, in this response only: NAP keeps nothing but its hash.
    return render_template("portal/push_token.html", feed=feed, token=token,
                           receiver=f"{settings().public_base_url}/ocpi/2.3.0/receiver/locations")


def _quality_filters() -> dict:
    return {"q": request.args.get("q", "").strip()[:200], "severity": request.args.get("severity", ""),
            "rule": request.args.get("rule", "")}


@blueprint.get("/feeds/<int:feed_id>/quality")
@login_required
def quality(feed_id: int):
    feed = _feed_or_404(feed_id)
    session = db_session()
    filters = _quality_filters()
    report = cached_report(session, feed.id, settings(), _now())
    wanted = filters["q"].lower()
    rows = [f for f in report.findings
            if (not wanted or wanted in f.object_id.lower())
            and (not filters["severity"] or f.severity == filters["severity"])
            and (not filters["rule"] or f.rule == filters["rule"])]
    page = max(1, request.args.get("page", 1, type=int))
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    conditions = []
    if wanted:
        conditions.append(func.lower(Finding.object_id).contains(wanted, autoescape=True))
    if filters["severity"] in ("error", "warning"):
        conditions.append(Finding.severity == filters["severity"])
    harvest_total = count_current_findings(session, [feed.id], *conditions)
    harvest_rows = current_findings(session, [feed.id], *conditions, limit=HARVEST_FINDINGS_SHOWN)
    return render_template(
        "portal/quality.html", feed=feed, report=report, filters=filters,
        rows=rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], matches=len(rows), page=min(page, pages), pages=pages,
        harvest_rows=harvest_rows, harvest_total=harvest_total)


@blueprint.get("/lookup")
@login_required
def lookup():
    session = db_session()
    feeds = visible_feeds(session, current_user())
    query = request.args.get("q", "").strip()[:200]
    results = Lookup(session, feeds, _now(), settings().removed_evse_visible_hours).locate(query) if query else []
    return render_template("portal/lookup.html", query=query, results=results, feeds=feeds)
