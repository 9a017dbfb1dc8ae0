"""The administrators' page: every feed's health and connection at once, filtered by
status; approving, rejecting, suspending, resuming and harvesting feeds; and deciding
the feeds' party claims from their evidence (verify, revoke, move)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from nap.feeds import request_harvest, waiting_harvest_request
from nap.parties import VERIFIED, PartyError, claim_of, claims, move, revoke, verify
from nap.portal.auth import admin_required, current_user
from nap.portal.claims_board import CLOSED_FEED_STATUSES, claims_board
from nap.portal.health import feed_health
from nap.portal.lifecycle import ACTIONS, TransitionError, apply_action, available_actions, clean_reason, decision
from nap.portal.ownership import owner_emails, visible_feeds
from nap.portal.pages import portal_blueprint
from nap.store.feed_events import record_event
from nap.store.states import FeedStatus, RunStatus
from nap.store.tables import Feed, FeedEvent
from nap.web import db_session
from nap.web import settings as app_settings

blueprint = portal_blueprint("portal_admin", url_prefix="/admin")

# How soon the worker (`nap worker`, a tick every 30 s) starts a harvest asked for here.
WORKER_TICK_TEXT = "half a minute"
STATUSES = tuple(FeedStatus)
CLAIM_ACTIONS = ("verify", "revoke", "move")


def _status_filter() -> str | None:
    """The ?status= filter, when it names a status (anything else shows every feed)."""
    wanted = request.args.get("status", "")
    return wanted if wanted in STATUSES else None


def _back():
    """The admin page, with the filter the admin was looking at."""
    return redirect(url_for(".feeds", status=_status_filter()))


def _latest_handshakes(session, feed_ids: list[int]) -> dict[int, FeedEvent]:
    latest: dict[int, FeedEvent] = {}
    if feed_ids:
        for event in session.scalars(select(FeedEvent).where(FeedEvent.feed_id.in_(feed_ids),
                                                             FeedEvent.kind == "handshake").order_by(FeedEvent.id)):
            latest[event.feed_id] = event
    return latest


@blueprint.get("/")
@admin_required
def feeds():
    session = db_session()
    now = datetime.now(timezone.utc)
    everyone = visible_feeds(session, current_user())
    status = _status_filter()
    shown = [feed for feed in everyone if status is None or feed.status == status]
    health = [feed_health(session, feed, now) for feed in shown]
    counts = {name: sum(1 for feed in everyone if feed.status == name) for name in STATUSES}
    # How each feed's latest finished run ended: degraded ones stored their data, but
    # skipped more of the EVSEs served than NAP_HARVEST_DEGRADED_EVSE_SHARE.
    last_runs = {name: sum(1 for h in health if h.last_finished is not None and h.last_finished.status == name)
                 for name in (RunStatus.SUCCESS, RunStatus.DEGRADED, RunStatus.FAILED)}
    ids = [feed.id for feed in shown]
    return render_template(
        "portal/admin.html", health=health, counts=counts, total=len(everyone), status=status,
        last_runs=last_runs, owners=owner_emails(session, ids), handshakes=_latest_handshakes(session, ids),
        parties={feed.id: claims(session, feed.id) for feed in shown},
        decisions={feed.id: decision(session, feed) for feed in shown},
        actions={feed.id: available_actions(feed) for feed in shown}, board=claims_board(session, ids),
        requested={feed.id: waiting_harvest_request(session, feed) for feed in shown})


def _feed_or_404(session, feed_id: int) -> Feed:
    feed = session.get(Feed, feed_id)
    if feed is None:
        abort(404, description="No such feed.")
    return feed


@blueprint.post("/feeds/<int:feed_id>/<action>")
@admin_required
def feed_action(feed_id: int, action: str):
    session = db_session()
    feed = _feed_or_404(session, feed_id)
    admin = current_user()
    if action == "harvest":
        if feed.status != FeedStatus.ACTIVE:
            flash(f"{feed.name} is {feed.status}; only active feeds are harvested.", "error")
            return _back()
        request_harvest(session, feed)
        record_event(session, feed.id, "harvest_requested", f"harvest requested by {admin.email}", user_id=admin.id)
        session.commit()
        flash(f"Harvest of {feed.name} requested: the worker starts it within {WORKER_TICK_TEXT}, and its run "
              "appears in the feed's history when done.", "success")
        return _back()
    if action not in ACTIONS:
        abort(404, description="No such action.")
    try:
        done = apply_action(session, feed, action, admin, request.form.get("reason", ""))
        if feed.status == FeedStatus.ACTIVE:
            # Approved or resumed: harvested at the worker's next tick, not at the interval's end.
            request_harvest(session, feed)
        session.commit()
    except (TransitionError, PartyError) as error:
        session.rollback()
        flash(str(error), "error")
        return _back()
    harvest = (f"; harvest requested, the worker starts it within {WORKER_TICK_TEXT}"
               if feed.status == FeedStatus.ACTIVE else "")
    flash(f"{feed.name}: {done.event}{harvest}.", "success")
    return _back()


@blueprint.post("/feeds/<int:feed_id>/parties/<country_code>/<party_id>/<action>")
@admin_required
def claim_action(feed_id: int, country_code: str, party_id: str, action: str):
    """Verify the feed's claim on the pair, revoke it, or move the verified pair to it."""
    if action not in CLAIM_ACTIONS:
        abort(404, description="No such action.")
    session = db_session()
    feed = _feed_or_404(session, feed_id)
    if not (re.fullmatch(r"[A-Za-z]{2}", country_code) and re.fullmatch(r"[A-Za-z0-9]{1,3}", party_id)):
        # Not echoed: the address may carry anything, and the message is kept in the session.
        flash("That is not a country code and party id.", "error")
        return _back()
    admin, reason = current_user(), clean_reason(request.form.get("reason", ""))
    label = f"{country_code.upper()}/{party_id.upper()}"
    before = claim_of(session, feed.id, country_code.upper(), party_id.upper())
    # A decision that gives the feed a pair it did not hold yet: what it serves under it is
    # published from its next harvest, requested below.
    gains = action != "revoke" and (before is None or before.state != VERIFIED)
    try:
        if action != "revoke" and feed.status in CLOSED_FEED_STATUSES:
            raise PartyError(f"{feed.name} is {feed.status}: it publishes nothing, so it cannot be given {label}.")
        if action == "verify":
            verify(session, feed, country_code, party_id, user_id=admin.id, note=reason)
            done = f"{label} verified for {feed.name}"
        elif action == "revoke":
            revoke(session, feed, country_code, party_id, user_id=admin.id, reason=reason)
            done = f"{feed.name}'s claim on {label} revoked"
        else:
            move(session, country_code, party_id, feed, user_id=admin.id, reason=reason)
            done = f"{label} moved to {feed.name}"
        if gains and feed.status == FeedStatus.ACTIVE:
            # What the feed serves under the pair is published from its next harvest: now.
            request_harvest(session, feed)
            done += f"; harvest requested, the worker starts it within {WORKER_TICK_TEXT}"
        session.commit()
    except PartyError as error:
        session.rollback()
        flash(str(error), "error")
        return _back()
    flash(done + ".", "success")
    return _back()


@blueprint.route("/subscribers", methods=["GET", "POST"])
@admin_required
def subscribers():
    """Push subscribers (exporters/push/) with their latest deliveries; the form adds one."""
    from exporters.push.admin import add_from_form, subscribers_page

    session, error = db_session(), None
    if request.method == "POST":
        error = add_from_form(session, app_settings(), request.form, datetime.now(timezone.utc))
        if error is None:
            flash(f"Subscriber {request.form.get('name', '').strip()} added: its first delivery goes out "
                  "within a second of the worker's next tick.", "success")
            return redirect(url_for(".subscribers"))
    return render_template("portal/admin_subscribers.html", error=error, form=request.form,
                           **subscribers_page(session)), 400 if error else 200


@blueprint.post("/subscribers/<int:subscriber_id>/<any(enable, disable):action>")
@admin_required
def subscriber_action(subscriber_id: int, action: str):
    from exporters.push.admin import switch

    if not switch(db_session(), subscriber_id, action == "enable"):
        abort(404, description="No such subscriber.")
    return redirect(url_for(".subscribers"))


@blueprint.get("/matches")
@admin_required
def matches():
    """Low-confidence matches (nap/store/matches.py): an aggregator's location taken for
    another source's charger by place alone, waiting to be confirmed or split."""
    from nap.store.matches import pending_matches

    return render_template("portal/admin_matches.html", matches=pending_matches(db_session()))


@blueprint.post("/matches/<int:candidate_id>/<any(confirm, split):action>")
@admin_required
def match_action(candidate_id: int, action: str):
    from nap.store.matches import MatchError, confirm_match, split_match

    session = db_session()
    try:
        if action == "confirm":
            message = confirm_match(session, candidate_id, user_id=current_user().id)
        else:
            message = split_match(session, candidate_id, datetime.now(timezone.utc), user_id=current_user().id)
        session.commit()
        flash(message[:1].upper() + message[1:] + ".", "success")
    except MatchError as error:
        session.rollback()
        flash(str(error), "error")
    return redirect(url_for(".matches"))
