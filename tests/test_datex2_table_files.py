"""A large store's DATEX II tables (3.7, both profiles, and Germany's JSON), written ahead
by the worker into gzip files and served from them (exporters/datex2/table_files.py): the table one request would build,
served with the same validators, written again only once changed and old enough, never
left to go stale, and a small store's built at each request as before."""
from __future__ import annotations

import dataclasses
import gzip
import io
import os
import zlib
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest

from exporters.datex2 import de_afir, parallel, table_files
from exporters.datex2.source import party_operators, published_locations, table_state, tariff_lookup
from exporters.datex2.table import write_table
from exporters.datex2.table_files import newest_table_file, refresh_table_files
from nap.app import create_app
from nap.ocpi.values import format_datetime
from nap.store.documents import iter_location_documents
from tests.harvest_helpers import harvest, register_and_harvest
from tests.settings_helpers import replace
from tests.xsd import validate

TABLE = "/datex2/v3.7/energy-infrastructure/table"
DE_AFIR_TABLE = "/datex2/de-afir/01-00-00/table"
LOCATIONS = 12
PROFILES = ["generic", "afir", "de-afir"]


@pytest.fixture
def large(settings):
    """Settings under which the test's store counts as large."""
    return replace(settings, datex2_table_file_min_locations=LOCATIONS, export_jobs=2)


def _built_here(sessions, settings, profile: str, at: datetime) -> bytes:
    """The table a request builds from the store as it is, at `at`."""
    out = io.BytesIO()
    with sessions() as session:
        _, version = table_state(session, at)
        write_table(out, iter_location_documents(session, published_locations()), profile=profile,
                    publication_time=at, table_version=version, country=settings.country_code.lower(),
                    national_identifier=settings.party_id, tariffs_by_key=tariff_lookup(session),
                    party_operators=party_operators(session))
    return out.getvalue()


def _gunzip(data: bytes) -> bytes:
    single = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one member, as HTTP clients read it
    content = single.decompress(data)
    assert single.eof and single.unused_data == b""
    return content


def _rename(cpo, index: int, name: str) -> None:
    location = cpo.app.config["FLEET"].locations[index]
    location["name"] = name
    location["last_updated"] = format_datetime(datetime.now(timezone.utc))


def _not_here(*args, **kwargs):
    raise AssertionError("a table file is written in a process of its own, not the worker's")


def test_a_large_stores_table_is_written_ahead_and_served_as_a_request_would_build_it(
        demo_cpo, sessions, large, live_server, monkeypatch):
    cpo = demo_cpo(locations=LOCATIONS)
    assert register_and_harvest(sessions, large, cpo).status == "success"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    monkeypatch.setattr(table_files, "_write", _not_here)  # the spawned child imports its own
    assert refresh_table_files(sessions, large, now) == PROFILES
    nap = live_server(create_app(large))
    builds = live_server(create_app(replace(large, datex2_table_file_min_locations=0)))  # at each request
    for profile in ("generic", "afir"):
        ahead = newest_table_file(large, profile)
        stored = ahead.path.read_bytes()
        content = _gunzip(stored)
        assert content == _built_here(sessions, large, profile, now) and validate(content) == []
        assert ahead.charging_points == content.count(b"ElectricChargingPoint") > 0
        with sessions() as session:
            _, version = table_state(session, now)
        assert ahead.version == version
        # Served as the file holds it to a client that takes gzip, unpacked to one that does not.
        with httpx.stream("GET", f"{nap.url}{TABLE}", params={"profile": profile},
                          headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
            assert b"".join(response.iter_raw()) == stored
        plain = httpx.get(f"{nap.url}{TABLE}", params={"profile": profile}, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "Content-Encoding" not in plain.headers and plain.content == content
        # The validators a request building it gives.
        built = httpx.get(f"{builds.url}{TABLE}", params={"profile": profile})
        assert (plain.headers["ETag"], plain.headers["Last-Modified"]) == (built.headers["ETag"],
                                                                         built.headers["Last-Modified"])
        again = httpx.get(f"{nap.url}{TABLE}", params={"profile": profile},
                          headers={"If-None-Match": plain.headers["ETag"]})
        assert again.status_code == 304
    # Germany's JSON table: the one a request builds, with its validators; one of some parties is built.
    ahead = newest_table_file(large, "de-afir")
    stored = ahead.path.read_bytes()
    one = io.BytesIO()
    with sessions() as session:
        de_afir.write_table(one, session, large, now=now)
        _, version = de_afir.table_version(session, now)
    assert orjson.loads(_gunzip(stored)) == orjson.loads(one.getvalue()) and ahead.version == version
    with httpx.stream("GET", f"{nap.url}{DE_AFIR_TABLE}", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200 and b"".join(response.iter_raw()) == stored
    served = httpx.get(f"{nap.url}{DE_AFIR_TABLE}")
    built = httpx.get(f"{builds.url}{DE_AFIR_TABLE}")
    assert served.headers["ETag"] == built.headers["ETag"] and served.json() == orjson.loads(_gunzip(stored))
    assert httpx.get(f"{nap.url}{DE_AFIR_TABLE}", headers={"If-None-Match": served.headers["ETag"]}).status_code == 304
    parties = httpx.get(f"{nap.url}{DE_AFIR_TABLE}", params={"party": "DE*ABC"})
    assert parties.status_code == 200 and parties.headers["ETag"] != served.headers["ETag"]


def test_a_table_file_is_written_again_once_changed_and_old_enough(demo_cpo, sessions, large, live_server):
    cpo = demo_cpo(locations=LOCATIONS)
    assert register_and_harvest(sessions, large, cpo).status == "success"
    start = datetime.now(timezone.utc).replace(microsecond=0)
    refresh_table_files(sessions, large, start)
    first = newest_table_file(large, "generic")
    _rename(cpo, 3, "Umbenannt am Markt")
    assert harvest(sessions, large).status == "success"
    nap = live_server(create_app(large))
    interval = timedelta(seconds=large.datex2_table_file_seconds)
    # Within the interval the file stands, though the store has changed.
    assert refresh_table_files(sessions, large, start + interval / 2) == []
    served = httpx.get(f"{nap.url}{TABLE}", params={"profile": "generic"})
    assert b"Umbenannt am Markt" not in served.content and served.content == gzip.decompress(first.path.read_bytes())
    # After it, the changed table is written, and the one before kept for requests reading it.
    later = start + interval
    assert refresh_table_files(sessions, large, later) == PROFILES
    second = newest_table_file(large, "generic", later)
    assert second.version != first.version and second.written_at == later and first.path.is_file()
    served = httpx.get(f"{nap.url}{TABLE}", params={"profile": "generic"})
    assert b"Umbenannt am Markt" in served.content
    # A third one removes the first.
    _rename(cpo, 4, "Noch ein Name")
    assert harvest(sessions, large).status == "success"
    assert refresh_table_files(sessions, large, later + interval) == PROFILES
    assert not first.path.exists() and second.path.is_file()


def test_an_unchanged_table_file_is_checked_rewritten_twice_a_day_and_never_served_stale(demo_cpo, sessions, large):
    cpo = demo_cpo(locations=LOCATIONS)
    assert register_and_harvest(sessions, large, cpo).status == "success"
    start = datetime.now(timezone.utc).replace(microsecond=0)
    refresh_table_files(sessions, large, start)
    first = newest_table_file(large, "afir", start)
    interval = timedelta(seconds=large.datex2_table_file_seconds)
    # Nothing changed: not written again within half a day, only found current.
    moment = start
    while moment + interval < start + table_files.REWRITE_UNCHANGED_AFTER:
        moment += interval
        assert refresh_table_files(sessions, large, moment) == []
    assert newest_table_file(large, "afir", moment) == dataclasses.replace(first, checked_at=moment)
    # Then written again, so that its publicationTime is never a day old.
    later = start + table_files.REWRITE_UNCHANGED_AFTER
    assert refresh_table_files(sessions, large, later) == PROFILES
    second = newest_table_file(large, "afir", later)
    assert second.written_at == later and second.version == first.version
    # A worker that stopped: a file written more than STALE_AFTER ago is not served, the request builds.
    assert newest_table_file(large, "afir", later + table_files.STALE_AFTER) == second
    assert newest_table_file(large, "afir", later + table_files.STALE_AFTER + timedelta(seconds=1)) is None


def test_a_lost_file_is_written_again_and_a_failed_write_waits_for_its_lease(demo_cpo, sessions, large, monkeypatch):
    cpo = demo_cpo(locations=LOCATIONS)
    assert register_and_harvest(sessions, large, cpo).status == "success"
    start = datetime.now(timezone.utc).replace(microsecond=0)
    refresh_table_files(sessions, large, start)
    directory = table_files._directory(large)
    newest_table_file(large, "generic").path.unlink()  # an operator's cleaning, a shared disk's hiccup
    leftover = directory / ".table-killed-midway.partial"
    leftover.write_bytes(b"\x1f\x8b")
    os.utime(leftover, (0, 0))
    assert refresh_table_files(sessions, large, start + timedelta(minutes=1)) == ["generic"]
    assert newest_table_file(large, "generic").path.is_file() and not leftover.exists()
    # A description naming a file elsewhere is not followed.
    description = directory / "table-generic.json"
    description.write_text(description.read_text().replace('"file": "table-generic-', '"file": "../table-generic-'))
    assert newest_table_file(large, "generic") is None
    # A write that fails keeps the lease: no try at every tick, each would be minutes of CPU.
    tries = []

    def failing(settings, profiles, now):
        tries.append(profiles)
        raise OSError("disk full")
    monkeypatch.setattr(table_files, "_in_a_process_of_its_own", failing)
    with pytest.raises(OSError):
        refresh_table_files(sessions, large, start + timedelta(minutes=2))
    assert refresh_table_files(sessions, large, start + timedelta(minutes=3)) == [] and tries == [["generic"]]


def test_a_table_file_written_in_several_processes_is_the_table_one_request_builds(demo_cpo, sessions, large,
                                                                                  monkeypatch):
    """write_profiles as the spawned child runs it, here, where the parts can be made many."""
    monkeypatch.setattr(parallel, "LOCATIONS_PER_PROCESS", 1)
    cpo = demo_cpo(locations=LOCATIONS)
    assert register_and_harvest(sessions, large, cpo).status == "success"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    written = table_files.write_profiles(large, ["generic", "de-afir"], now)
    assert [profile for profile, *_ in written] == ["generic", "de-afir"]
    generic = newest_table_file(large, "generic")
    assert _gunzip(generic.path.read_bytes()) == _built_here(sessions, large, "generic", now)
    one = io.BytesIO()
    with sessions() as session:
        de_afir.write_table(one, session, large, now=now)
        assert newest_table_file(large, "de-afir").version == de_afir.table_version(session, now)[1]
    assert orjson.loads(_gunzip(newest_table_file(large, "de-afir").path.read_bytes())) == orjson.loads(
        one.getvalue())
    # Nothing but the files and their descriptions is left.
    assert sorted(p.suffix for p in table_files._directory(large).iterdir()) == [".gz", ".gz", ".json", ".json"]


def test_a_small_store_builds_its_table_at_each_request(demo_cpo, sessions, large, nap_server, settings):
    cpo = demo_cpo(locations=LOCATIONS)
    assert register_and_harvest(sessions, large, cpo).status == "success"
    now = datetime.now(timezone.utc)
    refresh_table_files(sessions, large, now)
    assert newest_table_file(large, "generic") is not None
    # The same store under a higher threshold is small: its files go, and the API builds.
    small = replace(large, datex2_table_file_min_locations=LOCATIONS + 1)
    assert refresh_table_files(sessions, small, now + timedelta(days=1)) == []
    assert newest_table_file(large, "generic") is None
    assert not list((table_files._directory(large)).glob("table-*"))
    # nap_server runs with the default settings: 2,000 locations make a store large.
    _rename(cpo, 0, "Gleich sichtbar")
    assert harvest(sessions, settings).status == "success"
    response = httpx.get(f"{nap_server.url}{TABLE}", params={"profile": "generic"})
    assert response.status_code == 200 and b"Gleich sichtbar" in response.content


def test_the_tables_are_written_at_a_lower_priority_than_the_worker():
    with table_files._background_pool() as pool:
        assert pool.submit(os.nice, 0).result() == min(19, os.nice(0) + table_files.NICENESS)
