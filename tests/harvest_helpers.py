"""Helpers for tests that harvest into NAP: register a feed, run it, read the store."""
from __future__ import annotations

import copy

from sqlalchemy import func, select

from harvesters.harvest import Harvester
from nap.feeds import add_feed
from nap.store.documents import assemble_locations
from nap.store.tables import Feed, Finding, Location, Tariff


def register(sessions, cpo, name="demo", **feed_options):
    """Register the feed, with the demo CPO's own party (DE/ABC) verified unless the test
    names the parties: a feed publishes under verified parties only (nap/parties.py)."""
    if not {"country_code", "party_id", "parties"} & set(feed_options):
        feed_options.update(country_code="DE", party_id="ABC")
    with sessions.begin() as session:
        add_feed(session, name=name, versions_url=cpo.versions_url, token=cpo.token, **feed_options)


def parties_of(kind: str, version: str, objects: list,
               identity: tuple[str, str] = ("DE", "ABC")) -> tuple[tuple[str, str], ...]:
    """The country_code/party_id pairs the normalizer gives OCPI objects served to a feed
    registered as `identity`: what that feed must have verified to publish them."""
    from harvesters.normalize import FeedIdentity, normalize_object

    pairs = set()
    for obj in objects:
        result = normalize_object(kind, obj, version, FeedIdentity(*identity))
        if result.ok and isinstance(result.data, dict):
            pairs.add((result.data["country_code"], result.data["party_id"]))
    return tuple(sorted(pairs))


def harvest(sessions, settings, name="demo"):
    return Harvester(sessions, settings).harvest(name)


def register_and_harvest(sessions, settings, cpo, name="demo", **feed_options):
    register(sessions, cpo, name, **feed_options)
    return harvest(sessions, settings, name)


def stored_locations(sessions, include_removed=False) -> dict[str, dict]:
    with sessions() as session:
        query = select(Location).order_by(Location.id)
        if not include_removed:
            query = query.where(Location.removed_at.is_(None))
        return {doc["id"]: doc for doc in assemble_locations(session, session.scalars(query).all())}


def stored_tariffs(sessions) -> dict[str, dict]:
    with sessions() as session:
        return {row.ocpi_id: row.data for row in session.scalars(select(Tariff).where(Tariff.removed_at.is_(None)))}


def count_rows(sessions, table, *conditions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(table).where(*conditions))


def findings(sessions, severity=None) -> list[Finding]:
    with sessions() as session:
        query = select(Finding)
        if severity:
            query = query.where(Finding.severity == severity)
        return list(session.scalars(query))


def delete_feed(sessions, name):
    with sessions.begin() as session:
        session.delete(session.scalars(select(Feed).where(Feed.name == name)).one())


def fleet_with_flaws(locations: int = 20, drop: int = 0, voltages_as_text: int = 0, seed: int = 3,
                     party_id: str = "ABC"):
    """A valid demo fleet (to serve verbatim) with the first EVSE of `drop` locations served
    without connectors (invalid: each EVSE is dropped, its location stored) and one
    connector in each of `voltages_as_text` other locations with its max_voltage as text,
    a different value each (repaired, with a warning). Returns the fleet and the refs
    (location id/EVSE uid, as findings name them) of the dropped EVSEs."""
    from demo_cpo.fleet import Fleet, generate_fleet

    generated = generate_fleet(locations=locations, seed=seed, party_id=party_id)
    fleet = Fleet(locations=copy.deepcopy(generated.locations), tariffs=[])
    dropped = []
    for location in fleet.locations[:drop]:
        location["evses"][0]["connectors"] = []
        dropped.append(f"{location['id']}/{location['evses'][0]['uid']}")
    for number, location in enumerate(fleet.locations[drop:drop + voltages_as_text]):
        connector = location["evses"][0]["connectors"][0]
        connector["max_voltage"] = str(connector["max_voltage"] + number)
    return fleet, dropped


def served_units(fleet) -> tuple[int, int]:
    """The EVSEs and connectors a fleet serves."""
    evses = [evse for location in fleet.locations for evse in location["evses"]]
    return len(evses), sum(len(evse["connectors"]) for evse in evses)


def verbatim_cpo(live_server, fleet, page_limit: int = 7):
    """The demo CPO serving `fleet` as it is (OCPI 2.3.0), with .token and .versions_url."""
    from demo_cpo.server import DemoOptions, create_app

    options = DemoOptions(verbatim=True, page_limit=page_limit)
    cpo = live_server(create_app(fleet, options))
    cpo.token, cpo.versions_url = options.token, f"{cpo.url}/ocpi/versions"
    return cpo
