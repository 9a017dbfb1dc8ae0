"""The CPO's pages: its feeds, registering one, a feed's health and history, its quality
report, and "where did my charger go?". Admins may open every feed's pages."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func

from nap.feeds import FeedError, feed_parties, issue_push_token, recent_runs
from nap.portal.auth import current_user, login_required
from nap.portal.events import latest_event, record_event, recent_events
from nap.portal.findings import count_current_findings, current_findings
from nap.portal.health import STATUS_TEXT, feed_health
from nap.portal.lookup import Lookup
from nap.portal.ownership import visible_feed, visible_feeds
from nap.portal.pages import portal_blueprint
from nap.portal.registration import AUTH_MODES, FeedForm, parse_feed_form, register_feed, replace_token, run_handshake
from nap.quality import cached_report
from nap.store.availability import feed_availability
from nap.store.run_report import latest_run_report
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


def _handshake_and_tell(feed_id: int) -> None:
    sessions = current_app.extensions["nap.sessions"]
    result = run_handshake(sessions, settings(), feed_id, current_user().id)
    flash(f"Credentials handshake {'succeeded' if result.ok else 'failed'}: {result.message}",
          "success" if result.ok else "error")


@blueprint.get("/feeds/<int:feed_id>")
@login_required
def feed_page(feed_id: int):
    feed = _feed_or_404(feed_id)
    session = db_session()
    errors = current_findings(session, [feed.id], Finding.severity == "error", limit=20)
    return render_template(
        "portal/feed.html", feed=feed, health=feed_health(session, feed, _now()), status_text=STATUS_TEXT,
        runs=recent_runs(session, feed.id, 20), events=recent_events(session, feed.id),
        handshake=latest_event(session, feed.id, "handshake"),
        parties=sorted(feed_parties(session, feed.id)), errors=errors,
        error_count=count_current_findings(session, [feed.id], Finding.severity == "error"),
        modes=AUTH_MODES, availability=_availability(session, feed.id), report=latest_run_report(session, feed.id),
        degraded_share=settings().harvest_degraded_evse_share)


def _availability(session, feed_id: int) -> list[tuple[str, object]]:
    """From the status history: the last day and the last week."""
    now = _now()
    return [(label, feed_availability(session, feed_id, now - span, now))
            for label, span in (("last 24 hours", timedelta(days=1)), ("last 7 days", timedelta(days=7)))]


@blueprint.post("/feeds/<int:feed_id>/credentials")
@login_required
def new_credentials(feed_id: int):
    feed = _feed_or_404(feed_id)
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


@blueprint.post("/feeds/<int:feed_id>/handshake")
@login_required
def handshake_again(feed_id: int):
    feed = _feed_or_404(feed_id)
    _handshake_and_tell(feed.id)
    return redirect(url_for(".feed_page", feed_id=feed.id))


@blueprint.post("/feeds/<int:feed_id>/push-token")
@login_required
def push_token(feed_id: int):
    feed = _feed_or_404(feed_id)
    if feed.status not in ("active", "needs_credentials"):
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
