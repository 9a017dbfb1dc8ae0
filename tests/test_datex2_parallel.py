"""The DATEX II table written by several processes from one snapshot
(exporters/datex2/parallel.py): the same bytes as one process writes, and a commit made
meanwhile is in all of the table or in none of it, on PostgreSQL and on SQLite."""
from __future__ import annotations

import io
import resource
import tempfile
import threading
import zlib
from datetime import datetime, timezone

import orjson
import pytest
from sqlalchemy import select, text

from exporters.datex2.table import write_table
from exporters.datex2 import parallel
from exporters.datex2.parallel import _write_part, write_table_in_parallel
from exporters.datex2.source import published_locations, tariff_lookup
from nap.compression import GzipJoin
from nap.store.db import repeatable_read, write_session
from nap.store.documents import iter_location_documents
from nap.store.tables import Location
from tests.test_bulk_export import harvested
from tests.waiting import wait_until
from tests.xsd import validate

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _a_process_per_part_however_small(monkeypatch):
    monkeypatch.setattr(parallel, "LOCATIONS_PER_PROCESS", 1)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _one_process(sessions, profile: str) -> bytes:
    out = io.BytesIO()
    with sessions() as session:
        write_table(out, iter_location_documents(session, published_locations()), profile=profile,
                    publication_time=NOW, tariffs_by_key=tariff_lookup(session))
    return out.getvalue()


class _CountingGzip(GzipJoin):
    """A gzip file that tells what this process compressed and what came deflated."""

    def __init__(self, out) -> None:
        super().__init__(out)
        self.plain, self.deflated = 0, []

    def write(self, data: bytes) -> int:
        self.plain += len(data)
        return super().write(data)

    def add_deflated(self, source, crc: int, size: int) -> None:
        self.deflated.append(size)
        super().add_deflated(source, crc, size)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("profile", ["generic", "afir"])
def test_a_table_written_in_parallel_is_the_table_one_process_writes(demo_cpo, sessions, settings, profile,
                                                                    gzipped, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    exports.mkdir()
    elsewhere = tmp_path / "system-temp"  # the parts go next to the table, not here
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    harvested(demo_cpo, sessions, settings, locations=30)
    expected = _one_process(sessions, profile)
    for jobs in (2, 3):
        before = _children_cpu()
        with (exports / "table.xml").open("wb") as out:
            target = _CountingGzip(out) if gzipped else out
            count = write_table_in_parallel(target, sessions, jobs=jobs, profile=profile, publication_time=NOW)
            if gzipped:
                target.finish()
        written = (exports / "table.xml").read_bytes()
        if gzipped:
            single = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one gzip member, as HTTP clients read
            written = single.decompress(written)
            assert single.eof and single.unused_data == b""
            # Each child compressed its own part; this process only the rest.
            assert len(target.deflated) == jobs - 1 and all(target.deflated)
            assert target.plain + sum(target.deflated) == len(expected)
        assert written == expected and validate(written) == []
        assert count == written.count(b"ElectricChargingPoint")
        assert _children_cpu() > before  # children did write parts
    assert [p.name for p in exports.iterdir()] == ["table.xml"]  # no part file left behind
    assert not list(elsewhere.iterdir())


def test_the_german_table_written_in_parallel_has_the_version_its_status_names(demo_cpo, sessions, settings,
                                                                              tmp_path):
    """The German table in several processes: the sites of the table one process writes,
    and a versionG made from the versions of the sites as they are written (placed after
    them), the same that the content version gives and the status's tableReference names."""
    from exporters.datex2.de_afir import table as de_afir_table, write_status
    from exporters.datex2.de_afir.versioning import content_version
    from nap.config import Settings

    harvested(demo_cpo, sessions, settings, locations=30)
    profile_settings = Settings(country_code="DE", party_id="NAP")
    with sessions() as session:
        one = io.BytesIO()
        de_afir_table.write_table(one, session, profile_settings, now=NOW)
        expected_version = content_version(session, NOW)
        status = io.BytesIO()
        write_status(status, session, profile_settings, now=NOW)
    one_process = orjson.loads(one.getvalue())["payload"]["aegiEnergyInfrastructureTablePublication"]
    (status_reference,) = orjson.loads(status.getvalue())["messageContainer"]["payload"][0][
        "aegiEnergyInfrastructureStatusPublication"]["tableReference"]
    assert one_process["energyInfrastructureTable"][0]["versionG"] == status_reference["versionG"] == expected_version
    for jobs in (2, 3):
        before = _children_cpu()
        with (tmp_path / "table.json").open("wb") as out:
            count = de_afir_table.write_table_in_parallel(out, sessions, profile_settings, now=NOW, jobs=jobs)
        written = orjson.loads((tmp_path / "table.json").read_bytes())["payload"][
            "aegiEnergyInfrastructureTablePublication"]
        assert written == one_process and count > 0
        assert list(written["energyInfrastructureTable"][0])[-1] == "versionG"  # after the sites
        assert _children_cpu() > before


def test_a_part_reads_the_exported_snapshot_not_a_later_commit(demo_cpo, sessions, settings, tmp_path):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("snapshots are shared on PostgreSQL only")
    harvested(demo_cpo, sessions, settings, locations=5)
    with sessions() as exporting:
        repeatable_read(exporting)
        snapshot = exporting.scalar(text("SELECT pg_export_snapshot()"))
        with write_session(sessions) as writer:  # committed after the export began
            for location in writer.scalars(select(Location)):
                location.data = {**location.data, "name": "Renamed later"}
        url = exporting.get_bind().url.render_as_string(hide_password=False)
        count = _write_part(url, snapshot, 0, None, "generic", NOW, str(tmp_path / "part.xml")).written
    part = (tmp_path / "part.xml").read_bytes()
    assert count > 0 and b"Renamed later" not in part
    assert b"Renamed later" in _one_process(sessions, "generic")


def test_a_commit_after_the_export_began_is_in_none_of_the_table(demo_cpo, sessions, settings, tmp_path,
                                                                  monkeypatch):
    """A commit made after this process's first read and before the children start would
    land in their parts but not in this process's without a shared snapshot. The commit is
    made there, where the export reads the parties' operators."""
    harvested(demo_cpo, sessions, settings, locations=30)
    before = _one_process(sessions, "generic")
    writing = threading.Event()

    def rename_all() -> None:
        writing.set()
        with write_session(sessions) as writer:
            for location in writer.scalars(select(Location)):
                location.data = {**location.data, "name": f"Renamed {location.ocpi_id}"}
    renaming = threading.Thread(target=rename_all)
    read_operators = parallel.party_operators

    def operators_then_a_commit(session):
        operators = read_operators(session)
        renaming.start()
        if settings.database_url.startswith("sqlite"):
            # The export holds SQLite's write lock until the children have read: the
            # rename waits for it.
            wait_until(writing.is_set, timeout=10, what="the rename to begin")
        else:
            renaming.join()
        return operators

    monkeypatch.setattr(parallel, "party_operators", operators_then_a_commit)
    with (tmp_path / "table.xml").open("wb") as out:
        write_table_in_parallel(out, sessions, jobs=3, profile="generic", publication_time=NOW)
    renaming.join()
    after = _one_process(sessions, "generic")
    assert after != before and b"Renamed" in after
    assert (tmp_path / "table.xml").read_bytes() == before
