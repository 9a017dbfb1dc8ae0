"""The harvester against the demo CPO with its fault options, real feeds and spec examples,
over real HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from demo_cpo.fleet import Fleet
from demo_cpo.server import DemoOptions, create_app, touch_location
from nap.parties import claim
from nap.store.documents import assemble_locations
from nap.store.states import ClaimSource
from nap.store.tables import COMPLETED_RUN_STATUSES, Feed, HarvestRun, Location
from tests.conftest import OCPI_SPEC, REAL_FEEDS
from tests.harvest_helpers import (
    count_rows, delete_feed, findings, harvest, parties_of, register, register_and_harvest, stored_locations,
    stored_tariffs,
)
from tests.settings_helpers import replace


def _core(location: dict) -> dict:
    """What OCPI 2.1.1, 2.2.1 and 2.3.0 can all express about a location (the down-
    conversion drops or generalizes the rest, see nap/ocpi/downgrade.py)."""
    return {
        "id": location["id"], "name": location.get("name"), "address": location["address"],
        "city": location["city"], "postal_code": location.get("postal_code"), "country": location["country"],
        "coordinates": tuple(round(float(location["coordinates"][k]), 5) for k in ("latitude", "longitude")),
        "time_zone": location["time_zone"], "operator": location.get("operator", {}).get("name"),
        "evses": [
            (evse["uid"], evse.get("evse_id"), evse["status"],
             [(c["id"], c["standard"], c["format"], c["max_voltage"], c["max_amperage"], (c.get("tariff_ids") or [None])[0])
              for c in evse["connectors"]])
            for evse in location["evses"]
        ],
    }


def test_the_same_fleet_in_every_ocpi_version_harvests_to_the_same_data(demo_cpo, sessions, settings):
    reference = None
    for version in ("2.3.0", "2.2.1", "2.1.1"):
        cpo = demo_cpo(locations=25, ocpi_version=version)
        run = register_and_harvest(sessions, settings, cpo, name=version, country_code="DE", party_id="ABC")
        assert run.status == "success", run.error
        assert run.ocpi_version == version and run.objects_skipped == 0
        stored = stored_locations(sessions)
        assert len(stored) == 25
        core = {i: _core(loc) for i, loc in stored.items()}
        # Connectors that only 2.3.0 can express (MCS) are left out by older CPOs.
        for location in core.values():
            location["evses"] = [(u, e, s, [c for c in cs if c[1] != "MCS"]) for u, e, s, cs in location["evses"]]
            location["evses"] = [e for e in location["evses"] if e[3]]
        if reference is None:
            reference = core
        else:
            assert core == reference, version
        assert all(loc["country_code"] == "DE" and loc["party_id"] == "ABC" for loc in stored.values())
        tariffs = stored_tariffs(sessions)
        assert tariffs and all(t["currency"] == "EUR" for t in tariffs.values())
        delete_feed(sessions, version)


def _files_with(kind: str) -> list[Path]:
    spec = sorted(OCPI_SPEC.glob(f"ocpi-*/examples/{kind}*.json"))
    real = sorted(REAL_FEEDS.glob("*.json")) if kind == "location" else []
    return spec + real


def _objects(path: Path, kind: str) -> list:
    document = json.loads(path.read_bytes())
    data = document["data"] if isinstance(document, dict) and "data" in document else document
    objects = data if isinstance(data, list) else [data]
    if path.parent.name == "examples":
        # Spec example files also hold fragments (PATCH bodies, sub-objects): whole objects only.
        required = {"location": {"id", "address"}, "tariff": {"id", "elements"}}[kind]
        objects = [o for o in objects if isinstance(o, dict) and required <= o.keys()]
    return objects


def _version_of(path: Path) -> str:
    if "ocpi-2.2.1" in str(path) or "2_2" in path.name or "voltrelli" in path.name:
        return "2.2.1"
    return "2.3.0"


@pytest.mark.parametrize("kind", ["location", "tariff"])
def test_every_example_and_real_feed_is_stored_or_explained(kind, live_server, sessions, settings):
    files = [p for p in _files_with(kind) if _objects(p, kind)]
    assert len(files) >= (20 if kind == "location" else 25)
    for number, path in enumerate(files):
        objects = _objects(path, kind)
        fleet = Fleet(locations=objects if kind == "location" else [], tariffs=objects if kind == "tariff" else [])
        options = DemoOptions(ocpi_version=_version_of(path), verbatim=True, page_limit=40)
        cpo = live_server(create_app(fleet, options))
        name = f"feed-{number}"
        with sessions.begin() as session:
            from nap.feeds import add_feed
            add_feed(session, name=name, versions_url=f"{cpo.url}/ocpi/versions", token=options.token,
                     country_code="DE", party_id="ABC", parties=parties_of(kind, _version_of(path), objects))
        # In this process: a first run would pull its Locations in a page process, whose
        # start cost the test 2 s per file (50 s in all); tests/test_page_process.py shows
        # that a page process stores what this process stores.
        run = harvest(sessions, replace(settings, harvest_page_process_min_objects=0), name)
        assert run.status in COMPLETED_RUN_STATUSES, f"{path.name}: {run.error}"
        assert run.objects_received == len(objects), path.name
        # Degraded exactly when more than 1 % of the EVSEs served were skipped.
        evses = run.unit_counts["evses"]
        assert (run.status == "degraded") == (evses["skipped"] > 0.01 * evses["served"]), (path.name, evses)
        for unit, figures in run.unit_counts.items():
            assert figures["served"] == figures["stored"] + figures["skipped"], (path.name, unit, figures)
        with sessions() as session:
            feed_id = session.scalar(select(Feed.id).where(Feed.name == name))
        table = Location if kind == "location" else __import__("nap.store.tables", fromlist=["Tariff"]).Tariff
        stored = count_rows(sessions, table, table.feed_id == feed_id)
        distinct_ids = {o.get("id") for o in objects if isinstance(o, dict)}
        # Every object is either stored or skipped with error findings that say why.
        assert stored + run.objects_skipped == len(distinct_ids), path.name
        skipped_ids = {f.object_id for f in findings(sessions, "error") if f.object_type == kind}
        assert run.objects_skipped <= len(skipped_ids | {None}), path.name
        delete_feed(sessions, name)


def test_broken_objects_become_findings_and_the_rest_is_stored(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=60, broken_objects=13)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status in COMPLETED_RUN_STATUSES  # degraded: see tests/test_harvest_outcome.py
    broken = set(cpo.app.config["BROKEN_IDS"])
    stored = stored_locations(sessions)
    tariffs = len(cpo.app.config["FLEET"].tariffs)
    assert run.objects_received == 60 + tariffs
    assert len(stored) + len(stored_tariffs(sessions)) + run.objects_skipped == 60 + tariffs
    assert set(stored) >= {loc["id"] for loc in cpo.app.config["FLEET"].locations} - broken
    errors = findings(sessions, "error")
    for location_id in broken:
        if location_id in stored:
            # repaired (e.g. a decimal comma) or a dropped EVSE: either way a finding says so
            assert any(f.object_id and f.object_id.startswith(location_id) for f in findings(sessions)), location_id
        else:
            assert any(f.object_id == location_id and f.field and f.reason for f in errors), location_id


def test_incremental_run_transfers_only_changed_objects(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=40, page_limit=10)
    first = register_and_harvest(sessions, settings, cpo)
    assert first.full_sync and first.objects_new == 40 + len(cpo.app.config["FLEET"].tariffs)
    now = datetime.now(timezone.utc)
    changed_ids = {touch_location(cpo.app, i, now)["id"] for i in (3, 17, 31)}
    log = cpo.app.config["REQUEST_LOG"]
    log.clear()
    second = harvest(sessions, settings)
    assert second.status == "success" and not second.full_sync
    location_requests = [r for r in log if r["path"].endswith("/locations")]
    assert location_requests and all("date_from" in r["query"] for r in location_requests)
    assert second.objects_received == 3 and second.objects_changed == 3 and second.objects_removed == 0
    stored = stored_locations(sessions)
    served = {loc["id"]: loc for loc in cpo.app.config["FLEET"].locations}
    for location_id in changed_ids:
        assert stored[location_id]["evses"][0]["status"] == served[location_id]["evses"][0]["status"]


def test_a_full_sync_marks_what_the_cpo_no_longer_serves_as_removed(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=20)
    register_and_harvest(sessions, settings, cpo)
    gone = cpo.app.config["FLEET"].locations.pop(5)["id"]
    run = harvest(sessions, replace(settings, full_sync_hours=0))
    assert run.full_sync and run.objects_removed == 1
    assert gone not in stored_locations(sessions)
    assert gone in stored_locations(sessions, include_removed=True)  # history keeps it


def test_flaky_cpo_is_retried_and_fully_harvested(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=50, fail_rate=0.3, page_limit=10)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success", run.error
    assert len(stored_locations(sessions)) == 50
    assert any(r["status"] == 503 for r in cpo.app.config["REQUEST_LOG"])


@pytest.mark.parametrize("version", ["2.3.0", "2.2.1"])
def test_every_request_carries_a_request_id_and_its_retries_one_correlation_id(version, demo_cpo, sessions,
                                                                               settings):
    """OCPI 2.2+ transport_and_format: every request SHALL carry a unique X-Request-ID and
    an X-Correlation-ID. A CPO that refuses requests without them is harvested whole; a
    retry is a new request of the same exchange."""
    cpo = demo_cpo(locations=30, ocpi_version=version, require_request_ids=True, fail_rate=0.3, page_limit=10)
    run = register_and_harvest(sessions, replace(settings, retry_backoff_seconds=0.01), cpo)
    assert run.status == "success", run.error
    assert len(stored_locations(sessions)) == 30
    log = cpo.app.config["REQUEST_LOG"]
    assert all(entry["request_id"] and entry["correlation_id"] for entry in log), log
    assert len({entry["request_id"] for entry in log}) == len(log)
    # One exchange per request: its tries, all of the same page, the last one answered.
    exchanges: dict[str, list] = {}
    for entry in log:
        exchanges.setdefault(entry["correlation_id"], []).append(entry)
    for tries in exchanges.values():
        assert [entry["status"] for entry in tries[:-1]] == [503] * (len(tries) - 1) and tries[-1]["status"] == 200
        assert len({(entry["path"], str(entry["query"])) for entry in tries}) == 1
    assert any(len(tries) > 1 for tries in exchanges.values())


def test_a_failed_request_is_named_by_the_request_id_the_cpo_logged(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=10)
    register_and_harvest(sessions, settings, cpo)
    cpo.app.config["OPTIONS"].fail_rate = 1.0
    run = harvest(sessions, replace(settings, retry_backoff_seconds=0.01, retry_attempts=2))
    assert run.status == "failed"
    last = cpo.app.config["REQUEST_LOG"][-1]
    assert last["status"] == 503 and f"(X-Request-ID {last['request_id']})" in run.error, run.error


def test_a_cpo_that_stays_down_fails_the_run_and_blanks_nothing(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=10)
    register_and_harvest(sessions, settings, cpo)
    cpo.app.config["OPTIONS"].fail_rate = 1.0
    run = harvest(sessions, replace(settings, retry_backoff_seconds=0.01))
    assert run.status == "failed" and "503" in run.error and "after 4 attempts" in run.error
    assert len(stored_locations(sessions)) == 10


@pytest.mark.parametrize("version", ["2.3.0", "2.2.1"])
@pytest.mark.parametrize("page_process", [False, True], ids=["inline", "page-process"])
def test_a_cpo_that_takes_the_token_only_plain_is_harvested_whole(version, page_process, demo_cpo, sessions,
                                                                  settings):
    """transport_and_format: "many OCPI 2.1.1 and 2.2 implementations do not Base64 encode
    the credentials token", and compatibility is "trial and error". Refused encoded, the
    token is sent plain, and then plain to every later request, the page process's too.
    Before, such a CPO's feed failed as needing new credentials."""
    cpo = demo_cpo(locations=30, ocpi_version=version, plain_token=True, page_limit=10)
    run = register_and_harvest(sessions, replace(settings, harvest_page_process_min_objects=int(page_process)), cpo)
    assert run.status == "success", run.error
    assert len(stored_locations(sessions)) == 30
    refused = [entry for entry in cpo.app.config["REQUEST_LOG"] if entry["status"] == 401]
    assert len(refused) == 1 and refused[0]["path"] == "/ocpi/versions", refused
    with sessions() as session:
        assert session.scalar(select(Feed.status)) == "active"
    # The feed keeps the form the CPO took: the next run meets no refusal.
    seen = len(cpo.app.config["REQUEST_LOG"])
    assert harvest(sessions, settings).status == "success"
    assert [entry for entry in cpo.app.config["REQUEST_LOG"][seen:] if entry["status"] == 401] == []


@pytest.mark.parametrize("version", ["2.3.0", "2.2.1", "2.1.1"])
@pytest.mark.parametrize("page_process", [False, True], ids=["inline", "page-process"])
def test_list_requests_carry_the_routing_headers_of_the_version(version, page_process, demo_cpo, sessions, settings):
    """OCPI 2.2+ transport_and_format: requests to a functional module name the party they
    come from and the one they are for; requests to versions and credentials do not; 2.1.1
    has no routing headers."""
    cpo = demo_cpo(locations=30, ocpi_version=version, page_limit=10)
    run = register_and_harvest(sessions, replace(settings, harvest_page_process_min_objects=int(page_process),
                                                 country_code="NL", party_id="NAP"), cpo)
    assert run.status == "success", run.error
    log = cpo.app.config["REQUEST_LOG"]
    lists = [entry for entry in log if entry["path"].endswith(("/locations", "/tariffs"))]
    others = [entry for entry in log if entry not in lists]
    assert len(lists) >= 4 and others
    routed = ("NL/NAP", "DE/ABC") if version != "2.1.1" else (None, None)
    assert {(entry["ocpi_from"], entry["ocpi_to"]) for entry in lists} == {routed}
    assert {(entry["ocpi_from"], entry["ocpi_to"]) for entry in others} == {(None, None)}


@pytest.mark.parametrize("second", ["verified", "claimed"])
def test_a_feed_of_several_parties_names_no_party_it_asks(second, demo_cpo, sessions, settings):
    """OCPI-to would narrow a platform's lists to one of the feed's parties; a party only
    claimed too, since what the feed serves of it is what an administrator verifies it by."""
    cpo = demo_cpo(locations=10, ocpi_version="2.2.1")
    if second == "verified":
        register(sessions, cpo, parties=(("DE", "ABC"), ("DE", "XYZ")))
    else:
        register(sessions, cpo)  # DE/ABC, verified
        with sessions.begin() as session:
            claim(session, session.scalars(select(Feed)).one(), "DE", "XYZ", source=ClaimSource.FORM)
    run = harvest(sessions, settings)
    assert run.status == "success", run.error
    lists = [entry for entry in cpo.app.config["REQUEST_LOG"] if entry["path"].endswith("/locations")]
    assert lists and {(entry["ocpi_from"], entry["ocpi_to"]) for entry in lists} == {("DE/NAP", None)}


def test_a_locations_url_keeps_its_own_query_on_every_page(demo_cpo, sessions, settings):
    """An open data URL often carries a key or a filter in its query; the paging parameters
    are added to it, not put in its place (as they were: httpx drops a URL's query for
    `params`), and a Link that leaves it out (the demo's Links keep only OCPI's filters)
    gets it back."""
    cpo = demo_cpo(locations=25, ocpi_version="2.2.1", page_limit=10)
    cpo.versions_url = f"{cpo.url}/ocpi/2.2.1/locations?key=open-data"
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success", run.error
    assert len(stored_locations(sessions)) == 25
    pages = [entry["query"] for entry in cpo.app.config["REQUEST_LOG"] if entry["path"].endswith("/locations")]
    assert len(pages) >= 4 and all(query.get("key") == "open-data" for query in pages), pages


def test_the_feed_urls_own_query_never_brings_back_a_paging_parameter():
    """The feed URL's own paging parameters are NAP's to set: carried to a Link that already
    names them in another case, they would ask for page one again."""
    from harvesters.ocpi_client import _request_key, _with_missing_params, _without_paging

    own = _without_paging(httpx.URL("https://cpo.example.eu/open/locations?offset=0&key=k&Date_From=x").params)
    following = _with_missing_params(httpx.URL("https://cpo.example.eu/open/locations?Offset=10&limit=5"), own)
    assert str(following) == "https://cpo.example.eu/open/locations?Offset=10&limit=5&key=k"
    # The same page asked with its parameters in another order is the same request.
    assert _request_key("https://h/l?limit=5&offset=10") == _request_key("https://h/l?offset=10&limit=5")


@pytest.mark.parametrize("token", ["toké-secret", "secret-\r\nX-Injected: 1"], ids=["non-ascii", "line-break"])
def test_a_token_a_header_cannot_carry_fails_the_run_without_showing_it(token, demo_cpo, sessions, settings):
    """Refused Base64-encoded, such a token cannot go plain: the run fails with a message
    that shows neither the token nor the header (the HTTP library's own text quotes them;
    a non-ASCII one crashed the run as an internal error)."""
    cpo = demo_cpo(locations=5, ocpi_version="2.2.1", token=token, plain_token=True)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "failed" and "cannot carry" in run.error, run.error
    assert "secret" not in run.error and "Injected" not in run.error and "internal error" not in run.error


@pytest.mark.parametrize("origin", ["http://backend:8080", "http://localhost:1", "http://10.1.2.3"])
@pytest.mark.parametrize("page_process", [False, True], ids=["inline", "page-process"])
def test_links_on_the_cpos_internal_address_are_followed_on_its_public_one(origin, page_process, demo_cpo, sessions,
                                                                         settings):
    """A server behind a proxy writes its Links on its own address, which only its network
    knows. The next page is asked on the address the page came from, with the Link's path
    and query, and a warning tells the CPO. Before, the run failed at the second page: the
    SSRF guard refused the address, or it did not resolve."""
    cpo = demo_cpo(locations=35, page_limit=10, link_origin=origin)
    run = register_and_harvest(sessions, replace(settings, harvest_page_process_min_objects=int(page_process),
                                                 retry_attempts=1), cpo)
    assert run.status == "success", run.error
    assert len(stored_locations(sessions)) == 35
    offsets = sorted(int(entry["query"].get("offset", 0)) for entry in cpo.app.config["REQUEST_LOG"]
                     if entry["path"].endswith("/locations"))
    assert offsets == [0, 10, 20, 30]
    mended = [f for f in findings(sessions, "warning") if f.field == "Link"]
    assert mended and all("only the CPO's network knows" in f.reason for f in mended), mended


def test_a_link_from_https_down_to_http_on_the_same_host_stays_on_https():
    from harvesters.ocpi_client import _next_page_url
    from nap.url_guard import OutboundPolicy

    page = httpx.URL("https://cpo.example.eu/ocpi/2.2.1/locations?offset=0&limit=10")
    policy = OutboundPolicy()
    following, mended = _next_page_url(page, "http://cpo.example.eu/ocpi/2.2.1/locations?offset=10&limit=10", policy)
    assert str(following) == "https://cpo.example.eu/ocpi/2.2.1/locations?offset=10&limit=10"
    assert "https down to http" in mended
    # A Link to another public host, or a relative one, is followed as it is.
    assert _next_page_url(page, "https://eu.cpo-cdn.example/page/2", policy) == (
        httpx.URL("https://eu.cpo-cdn.example/page/2"), None)
    assert _next_page_url(page, "?offset=10&limit=10", policy)[1] is None
    # A private address the operator allowed (NAP_OUTBOUND_ALLOW) is the CPO's real one.
    allowed = OutboundPolicy(["10.20.0.0/16"])
    assert _next_page_url(page, "https://10.20.0.7/next", allowed)[1] is None
    assert "only the CPO's network knows" in _next_page_url(page, "https://10.30.0.7/next", allowed)[1]


def _feed_notes(sessions) -> list[str]:
    return [finding.reason for finding in findings(sessions, "warning") if finding.object_type == "feed"]


@pytest.mark.parametrize("version", ["2.3.0", "2.2.1", "2.1.1"])
@pytest.mark.parametrize("given", ["version details", "locations list", "locations list without a version"])
def test_a_feed_registered_with_another_url_than_its_versions_is_harvested_for_what_it_answers(
        version, given, demo_cpo, live_server, sessions, settings):
    """CPOs hand out one version's details, or the Locations list itself (open data), as
    their OCPI URL. Each is taken for what it answers; what NAP cannot reach that way (a
    Locations list has no tariffs) is told the CPO in a warning. The version comes from
    the URL, else from the objects' shape. Before, each failed: "did not list OCPI versions"."""
    if given == "locations list without a version":
        details = {"version": version, "endpoints": [
            {"identifier": "locations", "role": "SENDER", "url": "http://cpo.invalid/open-data/chargers"}]}
        cpo = demo_cpo(locations=25, ocpi_version=version, page_limit=10, version_details=details)
        cpo.versions_url = f"{cpo.url}/open-data/chargers"
    else:
        cpo = demo_cpo(locations=25, ocpi_version=version, page_limit=10)
        cpo.versions_url = f"{cpo.url}/ocpi/{version}" + ("/locations" if given == "locations list" else "")
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success", run.error
    assert run.ocpi_version == version
    served = cpo.app.config["FLEET"]
    assert len(stored_locations(sessions)) == 25
    stored_evses = sum(len(location["evses"]) for location in stored_locations(sessions).values())
    assert stored_evses == sum(len(location["evses"]) for location in served.locations)
    if given == "version details":
        assert len(stored_tariffs(sessions)) == len(served.tariffs) > 0
        assert [note[:40] for note in _feed_notes(sessions)] == [f"the feed's URL is the details of OCPI {version}"[:40]]
    else:
        assert stored_tariffs(sessions) == {}
        notes = _feed_notes(sessions)
        assert len(notes) == 1 and f"a Locations list (read as OCPI {version})" in notes[0], notes


def test_a_token_refused_plain_and_encoded_is_refused(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=5, plain_token=True)
    register_and_harvest(sessions, settings, cpo)
    cpo.app.config["REVOKED"] = True
    run = harvest(sessions, settings)
    assert run.status == "failed" and "credentials rejected" in run.error
    assert [entry["status"] for entry in cpo.app.config["REQUEST_LOG"][-2:]] == [401, 401]


def test_revoked_token_marks_the_feed_as_needing_credentials(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=5)
    register_and_harvest(sessions, settings, cpo)
    cpo.app.config["REVOKED"] = True
    run = harvest(sessions, settings)
    assert run.status == "failed"
    with sessions() as session:
        assert session.scalar(select(Feed.status)) == "needs_credentials"
    assert len(stored_locations(sessions)) == 5


def test_objects_appearing_while_paging_are_all_harvested(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=30, page_limit=10, grow_while_paging=7)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success"
    assert len(stored_locations(sessions)) == 37


def test_page_and_byte_caps_stop_a_runaway_server(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=30, page_limit=5)
    run = register_and_harvest(sessions, replace(settings, harvest_max_pages=3), cpo)
    assert run.status == "failed" and "more than 3 pages" in run.error
    assert stored_locations(sessions) == {}
    run = harvest(sessions, replace(settings, harvest_max_page_bytes=2000))
    assert run.status == "failed" and "exceeds the limit of 2000 bytes" in run.error


def test_run_history_is_recorded(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=12, page_limit=5)
    run = register_and_harvest(sessions, settings, cpo)
    with sessions() as session:
        recorded = session.get(HarvestRun, run.id)
    assert recorded.status == "success" and recorded.finished_at >= recorded.started_at
    assert recorded.pages >= 3 and recorded.bytes > 1000 and recorded.objects_new == 12 + len(stored_tariffs(sessions))
    assert recorded.ocpi_version == "2.3.0" and recorded.worker


def test_changes_are_dated_when_they_become_visible(demo_cpo, sessions, settings):
    """Without the restamp, changed_at is the run's start, and a slow run committing after
    a quicker parallel one would publish changes dated before what clients already saw."""
    cpo = demo_cpo(locations=10, page_limit=5, slow_ms=300)
    run = register_and_harvest(sessions, settings, cpo)
    with sessions() as session:
        changed = session.scalars(select(Location.changed_at)).all()
    assert min(changed) - run.started_at > timedelta(seconds=0.5)
    assert max(changed) <= run.finished_at


def test_a_bug_during_a_run_fails_the_run_and_keeps_the_data(demo_cpo, sessions, settings, monkeypatch):
    cpo = demo_cpo(locations=5)
    register_and_harvest(sessions, settings, cpo)
    before = stored_locations(sessions)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("harvesters.pages.normalize_object", broken)
    run = harvest(sessions, replace(settings, full_sync_hours=0))
    assert run.status == "failed" and run.error == "internal error: RuntimeError: a bug"
    assert stored_locations(sessions) == before


def test_ids_that_differ_only_in_case_are_one_object(demo_cpo, live_server, sessions, settings):
    """OCPI ids are CiStrings. A CPO that changes an id's case between runs updates its
    object (a full sync does not remove it as unseen); twins within one location are one
    EVSE (the later skipped, with a finding)."""
    cpo = demo_cpo(locations=6)
    register_and_harvest(sessions, settings, cpo)
    served = cpo.app.config["FLEET"].locations[2]
    original = served["id"]
    served.update(id=original.lower(), name="Renamed in lower case",
                  last_updated=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    run = harvest(sessions, replace(settings, full_sync_hours=0))
    assert run.full_sync and run.objects_removed == 0 and run.objects_changed == 1 and run.objects_new == 0
    stored = stored_locations(sessions, include_removed=True)
    assert len(stored) == 6 and original not in stored
    assert stored[original.lower()]["name"] == "Renamed in lower case"

    location = {**served, "id": "Twins", "country_code": "NL", "party_id": "TWN"}
    evse = location["evses"][0]
    location["evses"] = [evse, {**evse, "uid": evse["uid"].swapcase(), "status": "CHARGING"}]
    twins = live_server(create_app(Fleet(locations=[location], tariffs=[]), DemoOptions(verbatim=True)))
    with sessions.begin() as session:
        from nap.feeds import add_feed
        add_feed(session, name="twins", versions_url=f"{twins.url}/ocpi/versions", token="demo-token",
                 country_code="NL", party_id="TWN")
    assert harvest(sessions, settings, "twins").status in COMPLETED_RUN_STATUSES
    with sessions() as session:
        row = session.scalars(select(Location).where(Location.ocpi_id == "Twins")).one()
        assert [evse["uid"] for evse in assemble_locations(session, [row])[0]["evses"]] == [evse["uid"]]
    assert any("case-insensitive" in f.reason and f.field == "evses[1].uid" for f in findings(sessions))


def test_numbers_beyond_64_bits_in_a_raw_object_are_stored(live_server, sessions, settings):
    """The fast JSON encoder refuses them; the store falls back instead of failing the run.
    (Read back, such a number comes as the nearest float: orjson's parser has no bigints.)"""
    from demo_cpo.fleet import generate_fleet

    location = {**generate_fleet(locations=1).locations[0], "x_vendor_counter": 10**30}
    cpo = live_server(create_app(Fleet(locations=[location], tariffs=[]), DemoOptions(verbatim=True)))
    with sessions.begin() as session:
        from nap.feeds import add_feed
        add_feed(session, name="big", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                 country_code="DE", party_id="ABC")
    run = harvest(sessions, settings, "big")
    assert run.status == "success", run.error
    with sessions() as session:
        assert session.scalars(select(Location.raw)).one()["x_vendor_counter"] == float(10**30)


def test_the_raw_object_keeps_the_cpos_key_order(live_server, sessions, settings):
    """Stored as received: the CPO's keys in the CPO's order, on both engines (PostgreSQL's
    jsonb would sort them; the raw column is json there, migration 0005)."""
    from sqlalchemy import Text, cast

    from demo_cpo.fleet import generate_fleet

    served = generate_fleet(locations=1).locations[0]
    reordered = dict(reversed(list(served.items())))  # "evses" first, "country_code" last
    cpo = live_server(create_app(Fleet(locations=[reordered], tariffs=[]), DemoOptions(verbatim=True)))
    with sessions.begin() as session:
        from nap.feeds import add_feed
        add_feed(session, name="order", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                 country_code="DE", party_id="ABC")
    assert harvest(sessions, settings, "order").status == "success"
    with sessions() as session:
        text = session.scalars(select(cast(Location.raw, Text))).one()
    assert [key for key, _ in json.loads(text, object_pairs_hook=list)] == list(reordered)


def test_texts_beyond_the_limit_and_ids_beyond_their_column_are_findings_not_stored(live_server, nap_server,
                                                                                     sessions, settings):
    """Fails without the limits: a location's 3 MB name was stored and published (issue #15:
    a 30 MB name made a 34 MB list page), and on PostgreSQL an EVSE uid longer than its
    column failed the run's write. Longer than OCPI's length but within NAP_MAX_TEXT_LENGTH,
    a text is kept, with a warning; beyond it, an optional field is left out and a required
    one costs its smallest part."""
    import copy

    import httpx

    from demo_cpo.fleet import generate_fleet
    from nap.feeds import add_feed
    from nap.ocpi.schemas import MAX_TEXT_LENGTH

    served = [loc for loc in copy.deepcopy(generate_fleet(locations=80, seed=4).locations)
              if len(loc["evses"]) >= 2 and len(loc["evses"][1]["connectors"]) >= 2][:4]
    named, long_uid, long_status, refused = served
    long_address = "Rua Helios Seelinger, 155 - Barra da Tijuca, Rio de Janeiro - RJ"  # a real feed's
    named.update(name="N" * (3 * 1024 * 1024), address=long_address,
                 directions=[{"language": "en", "text": "D" * (MAX_TEXT_LENGTH + 1)},
                             {"language": "de", "text": "Hinten links"}])
    long_uid["evses"][0]["uid"] = "U" * 5000
    long_uid["evses"][1]["evse_id"] = "DE*ABC*E" + "9" * 41  # 49 characters, one beyond the column
    long_status["evses"][0]["status"] = "S" * 1_000_000
    long_status["evses"][1]["connectors"][0]["id"] = "C" * 37
    refused["id"] = "L" * 37
    cpo = live_server(create_app(Fleet(locations=served, tariffs=[]), DemoOptions(verbatim=True)))
    with sessions.begin() as session:
        add_feed(session, name="long", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                 country_code="DE", party_id="ABC")
    run = harvest(sessions, settings, "long")
    assert run.error is None and run.status in COMPLETED_RUN_STATUSES, run.error

    stored = stored_locations(sessions)
    assert set(stored) == {named["id"], long_uid["id"], long_status["id"]}
    assert "name" not in stored[named["id"]] and stored[named["id"]]["address"] == long_address
    assert stored[named["id"]]["directions"] == [{"language": "de", "text": "Hinten links"}]
    assert [evse["uid"] for evse in stored[long_uid["id"]]["evses"]] == [e["uid"] for e in long_uid["evses"][1:]]
    assert "evse_id" not in stored[long_uid["id"]]["evses"][0]
    evses = stored[long_status["id"]]["evses"]
    assert evses[0]["status"] == "UNKNOWN"
    assert [c["id"] for c in evses[1]["connectors"]] == [c["id"] for c in long_status["evses"][1]["connectors"][1:]]

    found = findings(sessions)
    by_field = {(f.object_id.split("/")[0], f.field): f for f in found}
    expected = {
        (named["id"], "name"): ("warning", "NAP_MAX_TEXT_LENGTH"),
        (named["id"], "directions[0]"): ("warning", "NAP_MAX_TEXT_LENGTH"),
        (named["id"], "address"): ("warning", "longer than OCPI's string(45); kept"),
        (long_uid["id"], "evses[0].uid"): ("error", "longer than OCPI's CiString(36)"),
        (long_uid["id"], "evses[1].evse_id"): ("warning", "longer than OCPI's CiString(48)"),
        (long_status["id"], "evses[1].connectors[0].id"): ("error", "longer than OCPI's CiString(36)"),
        (refused["id"], "id"): ("error", "at most 36 characters"),
    }
    for key, (severity, words) in expected.items():
        assert key in by_field and by_field[key].severity == severity and words in by_field[key].reason, \
            (key, by_field.get(key))
    # A finding names the value's problem; it does not keep a megabyte of it.
    assert max(len(f.reason) for f in found) <= 1000 and any(f.field == "evses[0].status" for f in found)

    page = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations", params={"limit": 1000})
    assert page.status_code == 200 and len(page.json()["data"]) == 3
    assert len(page.content) < 50_000, len(page.content)


def test_nap_max_text_length_sets_the_limit_and_never_goes_below_ocpis_lengths():
    """The schemas read NAP_MAX_TEXT_LENGTH once, when a process imports them."""
    import os
    import subprocess
    import sys

    probe = ("from nap.ocpi.schemas import MAX_TEXT_LENGTH, DisplayText\n"
             "def kept(n):\n"
             "    try:\n"
             "        return DisplayText.model_validate({'language': 'en', 'text': 'x' * n}).text == 'x' * n\n"
             "    except ValueError:\n"
             "        return False\n"
             "print(MAX_TEXT_LENGTH, kept(512), kept(1500), kept(4096), kept(4097))")
    answers = {}
    for setting in ("", "1000", "100"):
        env = {**os.environ, "NAP_MAX_TEXT_LENGTH": setting}
        answers[setting] = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                          check=True).stdout.split()
    assert answers == {"": ["4096", "True", "True", "True", "False"],
                       "1000": ["1000", "True", "False", "False", "False"],
                       "100": ["512", "True", "False", "False", "False"]}


def test_bulk_written_rows_read_and_compare_like_orm_written_ones(demo_cpo, sessions, settings):
    """The writer inserts locations, EVSEs, connectors and status history without the ORM
    (ids assigned first, COPY on PostgreSQL). Stored values must be exactly what the ORM
    would have written: on SQLite datetimes are compared as text, so a differently
    formatted timestamp would silently break equality and ordering queries."""
    from nap.store.tables import Connector, Evse, EvseStatusChange
    from nap.ocpi.values import parse_datetime

    cpo = demo_cpo(locations=30, page_limit=10)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success"
    served = {loc["id"]: loc for loc in cpo.app.config["FLEET"].locations}
    with sessions() as session:
        for location in session.scalars(select(Location)):
            source = served[location.ocpi_id]
            # equality on bound datetimes (text on SQLite) finds the rows
            assert session.scalar(select(Location.id).where(
                Location.ocpi_id == location.ocpi_id,
                Location.last_updated == parse_datetime(source["last_updated"]),
                Location.changed_at == location.changed_at,
                Location.first_seen_at == location.first_seen_at)) == location.id
            assert location.publish is True and location.removed_at is None
            assert location.raw == source and "evses" not in location.data
            evses = session.scalars(select(Evse).where(Evse.location_pk == location.id)
                                    .order_by(Evse.position)).all()
            assert [e.uid for e in evses] == [e["uid"] for e in source["evses"]]
            for evse, served_evse in zip(evses, source["evses"]):
                assert session.scalar(select(Evse.id).where(
                    Evse.id == evse.id, Evse.last_updated == parse_datetime(served_evse["last_updated"]),
                    Evse.status_changed_at == evse.status_changed_at)) == evse.id
                assert "connectors" not in evse.data
                connectors = session.scalars(select(Connector).where(Connector.evse_pk == evse.id)
                                             .order_by(Connector.position)).all()
                assert [c.ocpi_id for c in connectors] == [c["id"] for c in served_evse["connectors"]]
                assert all(c.data["id"] == c.ocpi_id for c in connectors)
        history = session.scalars(select(EvseStatusChange)).all()
        assert len(history) == session.query(Evse).count()
        assert all(h.via == "pull" and h.old_status is None and h.received_at == history[0].received_at
                   for h in history)
    # A second full run finds everything unchanged (the hashes and columns round-trip).
    second = harvest(sessions, replace(settings, full_sync_hours=0))
    assert second.objects_unchanged == run.objects_new and second.objects_new == second.objects_changed == 0


def test_prefetched_pages_keep_order_raise_in_order_and_stop_with_the_consumer():
    import threading
    from contextlib import closing

    from harvesters.prefetch import prefetched as _prefetched

    def pages(fail_at=None):
        for number in range(5):
            if number == fail_at:
                raise RuntimeError(f"page {number} failed")
            yield number

    assert list(_prefetched(pages())) == [0, 1, 2, 3, 4]
    received = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in _prefetched(pages(fail_at=3)):
            received.append(page)
    assert received == [0, 1, 2]
    produced = []

    def endless():
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    with closing(_prefetched(endless())) as stream:
        assert next(stream) == 0
    assert not [t for t in threading.enumerate() if t.name == "harvest-fetch"]
    assert len(produced) <= 4  # the producer stays at most a page or two ahead


def test_a_failed_run_leaves_no_fetch_or_store_thread_behind(demo_cpo, sessions, settings, monkeypatch):
    import threading

    cpo = demo_cpo(locations=30, page_limit=5)
    register_and_harvest(sessions, settings, cpo)
    before = stored_locations(sessions)
    calls = []

    def broken_write(self, documents):
        calls.append(len(documents))
        if len(calls) == 2:
            raise RuntimeError("the store broke")
        return original(self, documents)

    from nap.store.writer import FeedWriter
    original = FeedWriter.write_locations
    monkeypatch.setattr(FeedWriter, "write_locations", broken_write)
    run = harvest(sessions, replace(settings, full_sync_hours=0))
    assert run.status == "failed" and run.error == "internal error: RuntimeError: the store broke"
    assert stored_locations(sessions) == before
    assert not [t for t in threading.enumerate() if t.name.startswith(("harvest-fetch", "harvest-store"))]


def test_a_run_restores_the_interpreter_settings_it_tunes(demo_cpo, sessions, settings):
    import gc
    import sys

    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count(), gc.isenabled())
    cpo = demo_cpo(locations=5)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count(), gc.isenabled()) == before
