"""A feed's quality report: every rule run over a snapshot, plus the AFIR coverage.

Reports are computed on demand from the stored data (so they can never disagree with it)
and cached briefly per feed: a page view must not re-read a large feed, and the cache key
includes what changes when a harvest or a push changes the data.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nap.config import Settings
from nap.quality.conflicts import ConflictSummary, source_conflicts
from nap.quality.coverage import Coverage, afir_coverage
from nap.quality.rules import RULES, Rule
from nap.quality.snapshot import load_snapshot
from nap.supplements import ANNEX_ITEMS as SUPPLEMENT_ITEMS, party_supplement
from nap.store.tables import Evse, Location, LocationSource, Supplement, Tariff

CACHE_SECONDS = 300


@dataclass(frozen=True)
class QualityFinding:
    rule: str
    severity: str
    object_type: str
    object_id: str
    field: str | None
    message: str


@dataclass
class QualityReport:
    feed_id: int
    generated_at: datetime
    locations: int
    evses: int
    coverage: Coverage
    findings: list[QualityFinding] = field(default_factory=list)
    # Where other sources of the same chargers (a hub, the party's own feed) disagree.
    conflicts: ConflictSummary = field(default_factory=ConflictSummary)

    @property
    def counts(self) -> Counter:
        """Findings per rule name."""
        return Counter(finding.rule for finding in self.findings)

    def rules(self) -> list[tuple[Rule, int]]:
        counts = self.counts
        return [(rule, counts.get(rule.name, 0)) for rule in RULES]


def build_report(session: Session, feed_id: int, settings: Settings, now: datetime) -> QualityReport:
    snapshot = load_snapshot(session, feed_id, now, settings.quality_stale_days,
                             settings.quality_status_silence_hours)
    findings = [
        QualityFinding(rule.name, rule.severity, flag.object_type, flag.object_id, flag.field, flag.message)
        for rule in RULES for flag in rule.check(snapshot)
    ]
    return QualityReport(feed_id, now, len(snapshot.locations), snapshot.evse_count,
                         afir_coverage(snapshot, _supplied_items(session, snapshot)), findings,
                         source_conflicts(session, feed_id))


def _supplied_items(session: Session, snapshot) -> dict[str, dict[str, object]]:
    """What the parties' supplements give each location, by Annex item: the location's own
    values over its party's (nap.supplements)."""
    supplements = {pair: party_supplement(session, *pair)
                   for pair in {(location.country_code, location.party_id) for location in snapshot.locations}}
    supplied: dict[str, dict[str, object]] = {}
    for location in snapshot.locations:
        values = supplements[location.country_code, location.party_id].effective(location.ocpi_id)
        items: dict[str, object] = {}
        for name, value in values.items():
            if name in SUPPLEMENT_ITEMS and value not in (None, "", [], {}):
                items[SUPPLEMENT_ITEMS[name]] = value
        supplied[location.ocpi_id] = items
    return supplied


def _fingerprint(session: Session, feed_id: int) -> tuple:
    locations = session.execute(
        select(func.count(), func.max(Location.changed_at))
        .where(Location.feed_id == feed_id, Location.removed_at.is_(None))).one()
    statuses = session.scalar(
        select(func.max(Evse.status_changed_at)).join(Location, Location.id == Evse.location_pk)
        .where(Location.feed_id == feed_id))
    tariffs = session.scalar(select(func.max(Tariff.changed_at)).where(Tariff.feed_id == feed_id))
    # Any party's new supplement version: rare enough not to narrow it down to the feed's.
    supplements = session.scalar(select(func.max(Supplement.id)))
    # Any source's new copy of any location: its merge may change this feed's conflicts.
    sources = session.scalar(select(func.max(LocationSource.seen_at)))
    return (tuple(locations), statuses, tariffs, supplements, sources)


_cache: dict[tuple[str, int], tuple[tuple, float, QualityReport]] = {}
_lock = threading.Lock()


def cached_report(session: Session, feed_id: int, settings: Settings, now: datetime) -> QualityReport:
    key = (settings.database_url, feed_id)
    fingerprint = _fingerprint(session, feed_id)
    with _lock:
        hit = _cache.get(key)
    if hit and hit[0] == fingerprint and hit[1] > time.monotonic():
        return hit[2]
    report = build_report(session, feed_id, settings, now)
    with _lock:
        _cache[key] = (fingerprint, time.monotonic() + CACHE_SECONDS, report)
    return report
