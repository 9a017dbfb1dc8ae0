"""The administrators' page: every feed's health at once, and approving, suspending,
resuming and harvesting feeds."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from nap.portal.auth import admin_required, current_user
from nap.portal.background import start_harvest
from nap.portal.events import record_event
from nap.portal.health import feed_health
from nap.portal.lifecycle import ACTIONS, TransitionError, apply_action, available_actions
from nap.portal.ownership import owner_emails, visible_feeds
from nap.portal.pages import portal_blueprint
from nap.store.tables import Feed
from nap.web import db_session

blueprint = portal_blueprint("portal_admin", url_prefix="/admin")


@blueprint.get("/")
@admin_required
def feeds():
    session = db_session()
    now = datetime.now(timezone.utc)
    all_feeds = visible_feeds(session, current_user())
    health = [feed_health(session, feed, now) for feed in all_feeds]
    counts = {status: sum(1 for h in health if h.feed.status == status)
              for status in ("pending", "active", "needs_credentials", "suspended")}
    # How each feed's latest finished run ended: degraded ones stored their data, but
    # skipped more of the EVSEs served than NAP_HARVEST_DEGRADED_EVSE_SHARE.
    last_runs = {status: sum(1 for h in health if h.last_finished is not None and h.last_finished.status == status)
                 for status in ("success", "degraded", "failed")}
    return render_template("portal/admin.html", health=health, counts=counts, last_runs=last_runs,
                           owners=owner_emails(session, [feed.id for feed in all_feeds]),
                           actions={feed.id: available_actions(feed) for feed in all_feeds})


@blueprint.post("/feeds/<int:feed_id>/<action>")
@admin_required
def feed_action(feed_id: int, action: str):
    session = db_session()
    feed = session.get(Feed, feed_id)
    if feed is None:
        abort(404, description="No such feed.")
    admin = current_user()
    if action == "harvest":
        if feed.status != "active":
            flash(f"{feed.name} is {feed.status}; only active feeds are harvested.", "error")
            return redirect(url_for(".feeds"))
        record_event(session, feed.id, "harvest_requested", f"harvest requested by {admin.email}", user_id=admin.id)
        session.commit()
        start_harvest(current_app._get_current_object(), feed.name)
        flash(f"Harvesting {feed.name} now; its run appears in the feed's history when done.", "success")
        return redirect(url_for(".feeds"))
    if action not in ACTIONS:
        abort(404, description="No such action.")
    try:
        done = apply_action(session, feed, action, admin, request.form.get("reason", "").strip()[:500])
        session.commit()
    except TransitionError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".feeds"))
    flash(f"{feed.name}: {done.event}.", "success")
    if feed.status == "active":
        # Approved or resumed: harvest at once rather than at the worker's next tick.
        start_harvest(current_app._get_current_object(), feed.name)
    return redirect(url_for(".feeds"))
