"""Time-weighted availability from the status history, as the CPO dashboard shows it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from nap.feeds import get_feed
from nap.store.availability import feed_availability
from nap.store.status_history import StatusChange, record_status_changes
from nap.store.tables import Evse
from tests.harvest_helpers import register_and_harvest


def test_availability_is_time_weighted_over_the_period(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=3)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    t0 = datetime.now(timezone.utc) + timedelta(days=1)  # after the harvest's own history rows
    hour = timedelta(hours=1)
    with sessions.begin() as session:
        feed_id = get_feed(session, "demo").id
        evses = session.execute(select(Evse.location_pk, Evse.uid, Evse.status)).all()
        assert len(evses) >= 2
        (pk0, uid0, _), (pk1, uid1, _) = evses[0], evses[1]
        session.execute(Evse.__table__.update().values(status="AVAILABLE"))
        # EVSE 0: charging from 1 h to 3 h. EVSE 1: out of order from 2 h on. Others: available.
        record_status_changes(session, feed_id, [StatusChange(pk0, uid0, "AVAILABLE", "CHARGING", t0)], t0 + hour, "push")
        record_status_changes(session, feed_id, [StatusChange(pk0, uid0, "CHARGING", "AVAILABLE", t0)], t0 + 3 * hour, "push")
        record_status_changes(session, feed_id, [StatusChange(pk1, uid1, "AVAILABLE", "OUTOFORDER", t0)], t0 + 2 * hour, "push")
        session.execute(Evse.__table__.update().where(Evse.uid == uid1).values(status="OUTOFORDER"))
    with sessions() as session:
        result = feed_availability(session, feed_id, t0, t0 + 4 * hour)
    n = len(evses)
    assert result.evses == n and result.status_changes == 3
    # available hours: EVSE 0: 2 of 4, EVSE 1: 2 of 4, others: 4 of 4
    assert abs(result.available_share - (2 + 2 + 4 * (n - 2)) / (4 * n)) < 1e-9
    # operational hours: EVSE 0: 4 (charging counts), EVSE 1: 2, others: 4
    assert abs(result.operational_share - (4 + 2 + 4 * (n - 2)) / (4 * n)) < 1e-9


def test_the_cpo_feed_page_shows_availability(demo_cpo, nap_server, sessions, settings):
    from nap.portal.ownership import add_owner
    from tests.portal_fixtures import PortalClient, add_user

    cpo = demo_cpo(locations=2)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    user = add_user(sessions, "owner@cpo.example")
    with sessions.begin() as session:
        feed_id = get_feed(session, "demo").id
        add_owner(session, feed_id, user)
    client = PortalClient(nap_server.url)
    client.login("owner@cpo.example")
    page = client.get(f"/portal/feeds/{feed_id}").text
    client.close()
    assert "<h2>Availability</h2>" in page and "last 24 hours" in page and "last 7 days" in page
    assert page.count('data-testid="available-share"') == 2
