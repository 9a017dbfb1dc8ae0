"""Real operators' feeds (../shared/fixtures/real-ocpi-feeds), harvested over HTTP from the
demo CPO serving them verbatim, on SQLite and PostgreSQL: every publishable EVSE is
published. What cannot be is named here, with its reason, worked out from the feed itself
(not from the normalizer):
- an EVSE with no connector at all (OCPI requires one; there is nothing to publish);
- an EVSE with neither a uid nor an evse_id to derive one from;
- every EVSE of a location without usable coordinates.

And a harvest whose one location has a bad top-level field and three bad EVSEs names all
four problems in its findings, so that the CPO can fix everything in one round."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from demo_cpo.fleet import Fleet, generate_fleet
from demo_cpo.server import DemoOptions, create_app
from nap.feeds import add_feed
from tests.conftest import REAL_FEEDS
from tests.harvest_helpers import delete_feed, findings, harvest, parties_of, stored_locations

FEEDS = REAL_FEEDS


def _locations(path: Path) -> list:
    document = json.loads(path.read_bytes().decode("utf-8-sig"))
    data = document["data"] if isinstance(document, dict) and "data" in document else document
    return data if isinstance(data, list) else [data]


def _value(obj: dict, snake: str):
    """A field by its OCPI name or the camelCase one some feeds use."""
    head, *rest = snake.split("_")
    return obj.get(snake, obj.get(head + "".join(part.title() for part in rest)))


def _number(value) -> float | None:
    try:
        return float(str(value).replace(",", ".")) if value not in (None, "") and not isinstance(value, bool) else None
    except ValueError:
        return None


def unpublishable(location: dict) -> dict[str, int]:
    """EVSEs of the location that cannot be published, by reason."""
    evses = [e for e in (location.get("evses") or []) if isinstance(e, dict)]
    coordinates = location.get("coordinates") or {}
    if _number(coordinates.get("latitude")) is None or _number(coordinates.get("longitude")) is None:
        return {"location without usable coordinates": len(evses)} if evses else {}
    reasons: dict[str, int] = {}
    for evse in evses:
        if not evse.get("connectors"):
            reason = "no connector at all"
        elif not _value(evse, "uid") and not _value(evse, "evse_id"):
            reason = "neither uid nor evse_id"
        else:
            continue
        reasons[reason] = reasons.get(reason, 0) + 1
    return reasons


# What the corpus holds that cannot be published (checked against unpublishable() below, so
# that a change to the corpus shows here).
EXPECTED_UNPUBLISHABLE = {
    "ocpi_2_2_1_locations-punkt.json": {"no connector at all": 67},
    "ocpi_2_2_1_locations-sitronics.json": {"neither uid nor evse_id": 11},
    "ocpi_2_2_1_locations-toger.json": {"no connector at all": 21, "location without usable coordinates": 13},
}


def _version(path: Path) -> str:
    return "2.2.1" if "2_2" in path.name or "voltrelli" in path.name else "2.3.0"


def _identity(locations: list) -> tuple[str, str]:
    for location in locations:
        if isinstance(location, dict) and location.get("country_code") and location.get("party_id"):
            return location["country_code"], location["party_id"]
    return "PL", "RLF"


@pytest.mark.parametrize("registered_by", ["versions", "locations URL"])
@pytest.mark.parametrize("path", sorted(FEEDS.glob("*.json")), ids=lambda p: p.stem)
def test_every_publishable_evse_of_a_real_feed_is_published(path, registered_by, live_server, sessions, settings):
    """Registered by the OCPI versions endpoint, or, as these feeds were published, by their
    Locations URL alone: one without a version in its path, so the objects' shape tells it
    (harvesters/ocpi_client.py)."""
    locations = _locations(path)
    served = sum(len(loc.get("evses") or []) for loc in locations if isinstance(loc, dict))
    cannot: dict[str, int] = {}
    for location in locations:
        for reason, count in unpublishable(location).items():
            cannot[reason] = cannot.get(reason, 0) + count
    assert cannot == EXPECTED_UNPUBLISHABLE.get(path.name, {}), path.name

    open_data = {"version": _version(path), "endpoints": [
        {"identifier": "locations", "role": "SENDER", "url": "http://cpo.invalid/open-data/locations"}]}
    options = DemoOptions(ocpi_version=_version(path), verbatim=True, page_limit=100,
                          version_details=open_data if registered_by == "locations URL" else None)
    cpo = live_server(create_app(Fleet(locations=locations, tariffs=[]), options))
    country_code, party_id = _identity(locations)
    url = f"{cpo.url}/ocpi/versions" if registered_by == "versions" else f"{cpo.url}/open-data/locations"
    with sessions.begin() as session:
        add_feed(session, name="real", versions_url=url, token=options.token,
                 country_code=country_code, party_id=party_id,
                 parties=parties_of("location", options.ocpi_version, locations, (country_code, party_id)))
    run = harvest(sessions, settings, "real")
    assert run.error is None, run.error
    published = sum(len(location["evses"]) for location in stored_locations(sessions).values())
    assert published == served - sum(cannot.values()), (path.name, published, served, cannot)
    # Each EVSE left out is explained by an error finding.
    errors = findings(sessions, "error")
    for reason, count in cannot.items():
        assert count <= len(errors), (path.name, reason)
    delete_feed(sessions, "real")


def _bad_location() -> dict:
    """A demo location with a bad top-level field and three EVSEs broken in three ways."""
    location = copy.deepcopy(next(loc for loc in generate_fleet(locations=20).locations if len(loc["evses"]) >= 4))
    location["coordinates"] = {"latitude": "north", "longitude": "8.0"}
    evses = location["evses"]
    evses[0]["connectors"] = []
    evses[1]["status"] = {"not": "a status"}
    evses[1]["uid"] = None
    evses[1].pop("evse_id", None)
    evses[2]["connectors"][0]["standard"] = 42
    for connector in evses[2]["connectors"][1:]:
        connector["standard"] = 42
    return location


def test_a_refused_location_still_names_every_problem_of_its_evses(live_server, sessions, settings):
    location = _bad_location()
    good = generate_fleet(locations=3, seed=7).locations
    fleet = Fleet(locations=[location, *good], tariffs=[])
    options = DemoOptions(verbatim=True)
    cpo = live_server(create_app(fleet, options))
    with sessions.begin() as session:
        add_feed(session, name="bad", versions_url=f"{cpo.url}/ocpi/versions", token=options.token,
                 country_code="DE", party_id="ABC")
    run = harvest(sessions, settings, "bad")
    assert run.error is None
    assert set(stored_locations(sessions)) == {loc["id"] for loc in good}
    problems = [(f.object_type, f.object_id, f.field, f.reason) for f in findings(sessions, "error")]
    mine = [p for p in problems if p[1] and p[1].startswith(location["id"])]
    fields = [p[2] or "" for p in mine]
    assert any(field.startswith("coordinates.latitude") for field in fields), mine
    assert any(field == "evses[0].connectors" for field in fields), mine
    assert any(field.startswith("evses[1].uid") for field in fields), mine
    assert any(field.startswith("evses[2].connectors") and "standard" in field for field in fields), mine


@pytest.mark.parametrize("bad_text", ["Parking \ud800 lot", "Parking\x00lot"], ids=["lone-surrogate", "nul"])
def test_text_that_is_not_unicode_costs_its_object_only(bad_text, live_server, sessions, settings):
    good = generate_fleet(locations=6, seed=3).locations
    broken = copy.deepcopy(good[2])
    broken["id"] = "BROKEN-TEXT"
    broken["name"] = bad_text
    cpo = live_server(create_app(Fleet(locations=[*good[:2], broken, *good[2:]], tariffs=[]), DemoOptions(verbatim=True)))
    with sessions.begin() as session:
        add_feed(session, name="text", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                 country_code="DE", party_id="ABC")
    run = harvest(sessions, settings, "text")
    assert run.error is None and run.objects_skipped == 1
    assert set(stored_locations(sessions)) == {location["id"] for location in good}
    reasons = [(f.field, f.reason) for f in findings(sessions, "error") if f.object_id == "BROKEN-TEXT"]
    assert reasons and reasons[0][0] == "name" and ("NUL" in reasons[0][1] or "surrogate" in reasons[0][1]), reasons
