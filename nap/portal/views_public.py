"""Public pages: the national overview, the map, one page per CPO. No sign-in needed."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, render_template
from sqlalchemy import func, select

from nap.ocpi.places import alpha3_of
from nap.parties import verified_parties
from nap.portal.pages import install_template_helpers, portal_blueprint
from nap.portal.stats import network_stats, published_bounds
from nap.quality import cached_report
from nap.quality.geography import country_box
from nap.store.states import FeedStatus
from nap.store.tables import Evse, Feed, Location
from nap.web import db_session, settings

blueprint = portal_blueprint("portal_public", static_folder="static", static_url_path="/portal/static")
install_template_helpers(blueprint)


def public_cpos(session) -> list[tuple[Feed, int, int, list[tuple[str, str]]]]:
    """The feeds that publish something (a feed with no current published location, be it
    pending, withdrawn or not yet verified, is no operator of this access point), with
    their published locations and EVSEs and the parties they publish under."""
    published = [Location.removed_at.is_(None), Location.publish.is_(True)]
    locations = dict(session.execute(select(Location.feed_id, func.count()).where(*published)
                                     .group_by(Location.feed_id)).all())
    evses = dict(session.execute(
        select(Location.feed_id, func.count()).select_from(Evse).join(Location, Location.id == Evse.location_pk)
        .where(*published, Evse.status != "REMOVED").group_by(Location.feed_id)).all())
    feeds = session.scalars(select(Feed).where(Feed.id.in_(list(locations)), Feed.status != FeedStatus.PENDING)
                            .order_by(Feed.name)) if locations else []
    return [(feed, locations[feed.id], evses.get(feed.id, 0), sorted(verified_parties(session, feed.id)))
            for feed in feeds]


@blueprint.get("/")
def overview():
    session = db_session()
    return render_template("portal/overview.html", stats=network_stats(session), cpos=public_cpos(session))


@blueprint.get("/map")
def map_page():
    bounds = published_bounds(db_session())
    if bounds is None:
        bounds = country_box(alpha3_of(settings().country_code) or "") or (35.0, 71.0, -10.0, 32.0)
    return render_template("portal/map.html", bounds=bounds, tile_url=settings().map_tile_url,
                           tile_attribution=settings().map_tile_attribution)


@blueprint.get("/cpos/<path:name>")
def cpo_page(name: str):
    session = db_session()
    feed = session.scalar(select(Feed).where(Feed.name == name))
    stats = network_stats(session, feed.id) if feed is not None and feed.status != FeedStatus.PENDING else None
    # Only a feed whose data is out there has a public page (not a pending, withdrawn or
    # unverified one): the page is about that data.
    if stats is None or not stats.locations:
        abort(404, description="No CPO of that name publishes through this access point.")
    parties = sorted(verified_parties(session, feed.id))  # only what it publishes under
    report = cached_report(session, feed.id, settings(), datetime.now(timezone.utc))
    return render_template("portal/cpo_public.html", feed=feed, parties=parties,
                           stats=stats, coverage=report.coverage)
