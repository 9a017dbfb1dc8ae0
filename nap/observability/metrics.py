"""Prometheus metrics.

Two kinds: figures about the data (harvest runs by feed and outcome, objects, durations,
push rate, freshness lag) are read from the database at scrape time, so every API
process reports the same truth however many there are; request latencies are measured in
each process (with PROMETHEUS_MULTIPROC_DIR set, gunicorn workers share them through
prometheus_client's multiprocess mode).
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nap.observability.push_metrics import push_metrics
from nap.store.run_report import unit_rows
from nap.store.status_history import push_freshness
from nap.store.states import RunStatus
from nap.store.tables import Evse, EvseStatusChange, Feed, HarvestRun, Location

# Run outcomes every feed reports, 0 until it has one: a series that appears only with its
# first degraded run would hide that run from increase() and rate().
RUN_STATUSES = (RunStatus.SUCCESS, RunStatus.DEGRADED, RunStatus.FAILED)

REQUEST_SECONDS = Histogram(
    "nap_http_request_duration_seconds", "API request latency", ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, endpoint, str(status)).observe(seconds)


class StoreCollector:
    """Reads the data figures from the database at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def collect(self):
        now = datetime.now(timezone.utc)
        with self.sessions() as session:
            runs = CounterMetricFamily("nap_harvest_runs", "Harvest runs by feed and outcome", labels=["feed", "status"])
            counted = {(name, status): 0 for (name,) in session.execute(select(Feed.name)) for status in RUN_STATUSES}
            for feed, status, count in session.execute(
                    select(Feed.name, HarvestRun.status, func.count()).join(HarvestRun, HarvestRun.feed_id == Feed.id)
                    .group_by(Feed.name, HarvestRun.status)):
                counted[(feed, status)] = count
            for (feed, status), count in counted.items():
                runs.add_metric([feed, status], count)
            yield runs
            yield from self._last_runs(session)
            yield from self._pushes(session, now)
            yield from push_metrics(session, now)
            published = GaugeMetricFamily("nap_published_objects", "Objects published", labels=["kind"])
            published.add_metric(["location"], session.scalar(select(func.count()).select_from(Location).where(
                Location.removed_at.is_(None), Location.publish.is_(True))))
            published.add_metric(["evse"], session.scalar(select(func.count()).select_from(Evse).join(
                Location, Location.id == Evse.location_pk).where(Location.removed_at.is_(None))))
            yield published

    def _last_runs(self, session: Session):
        latest = select(HarvestRun.feed_id, func.max(HarvestRun.id).label("run_id")).where(
            HarvestRun.status != RunStatus.RUNNING).group_by(HarvestRun.feed_id).subquery()
        objects = GaugeMetricFamily("nap_harvest_last_objects", "Objects in the feed's last finished run",
                                    labels=["feed", "outcome"])
        duration = GaugeMetricFamily("nap_harvest_last_duration_seconds", "Duration of the last finished run",
                                     labels=["feed"])
        finished = GaugeMetricFamily("nap_harvest_last_finished_timestamp_seconds",
                                     "When the last run finished", labels=["feed", "status"])
        units = GaugeMetricFamily("nap_harvest_last_run_units",
                                  "Locations, EVSEs and connectors the CPO served in the feed's last finished run, "
                                  "and what became of them (a failed run has none)",
                                  labels=["feed", "unit", "outcome"])
        degraded = GaugeMetricFamily("nap_harvest_last_run_degraded",
                                     "1 when the feed's last finished run was degraded (it skipped more of the EVSEs "
                                     "served than NAP_HARVEST_DEGRADED_EVSE_SHARE), else 0", labels=["feed"])
        for feed, run in session.execute(select(Feed.name, HarvestRun).join(latest, latest.c.feed_id == Feed.id)
                                         .join(HarvestRun, HarvestRun.id == latest.c.run_id)):
            for outcome in ("received", "new", "changed", "unchanged", "removed", "skipped"):
                objects.add_metric([feed, outcome], getattr(run, f"objects_{outcome}"))
            if run.finished_at:
                duration.add_metric([feed], (run.finished_at - run.started_at).total_seconds())
                finished.add_metric([feed, run.status], run.finished_at.timestamp())
            for row in unit_rows(run.unit_counts):
                for outcome in ("served", "stored", "repaired", "skipped"):
                    units.add_metric([feed, row.unit, outcome], getattr(row, outcome))
            degraded.add_metric([feed], 1 if run.status == RunStatus.DEGRADED else 0)
        yield from (objects, duration, finished, units, degraded)

    def _pushes(self, session: Session, now: datetime):
        window = now - timedelta(minutes=5)
        rate = GaugeMetricFamily("nap_push_status_changes_per_second", "Pushed EVSE status changes, 5-minute rate",
                                 labels=["feed"])
        lag = GaugeMetricFamily("nap_freshness_lag_seconds",
                                "CPO last_updated to NAP receipt of pushed changes, last hour", labels=["feed", "quantile"])
        feeds = session.execute(select(Feed.id, Feed.name)).all()
        counts = dict(session.execute(select(EvseStatusChange.feed_id, func.count()).where(
            EvseStatusChange.via == "push", EvseStatusChange.received_at >= window).group_by(EvseStatusChange.feed_id)).all())
        for feed_id, name in feeds:
            rate.add_metric([name], counts.get(feed_id, 0) / 300)
            freshness = push_freshness(session, feed_id, now - timedelta(hours=1), limit=5000)
            if freshness.samples:
                lag.add_metric([name, "0.5"], freshness.p50_seconds)
                lag.add_metric([name, "0.95"], freshness.p95_seconds)
        yield from (rate, lag)


def render_metrics(sessions: sessionmaker[Session]) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    # prometheus_client's own variable, not a NAP setting: the library reads it itself when
    # it creates each metric, so Settings could only mirror it, never set it.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(StoreCollector(sessions))
    return generate_latest(registry), CONTENT_TYPE_LATEST
