"""Daily jobs: the bulk snapshot (made once a day however many workers run: a lease named
after the day, kept after success, decides), snapshot retention, status history pruning."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from exporters.archive import archive_missing_days, safe_prune_cutoff
from exporters.bulk import export_snapshot, prune_snapshots
from nap.store.db import write_session
from nap.config import Settings
from nap.store.leases import Leases
from nap.store.evse_statistics import compute_day, days_due
from nap.store.status_history import prune_status_history, retention_cutoff

log = logging.getLogger(__name__)


def run_daily_jobs(sessions: sessionmaker[Session], settings: Settings, now: datetime,
                   leases: Leases | None = None) -> list[str]:
    """Run what is due today and no other process has done; returns what ran here."""
    leases = leases or Leases(sessions)
    ran = []
    day = now.date().isoformat()
    # Held two days and not released on success: no other worker repeats today's job.
    if now.hour >= settings.export_hour_utc and leases.acquire(f"daily-export:{day}", timedelta(days=2)):
        try:
            snapshot = export_snapshot(sessions, settings, Path(settings.export_dir), now)
        except Exception:
            log.exception("daily export failed; another tick will retry")
            leases.release(f"daily-export:{day}")
        else:
            removed = prune_snapshots(Path(settings.export_dir), settings.export_keep_days, now.date())
            log.info("daily export written to %s (%d files); pruned %s", snapshot.directory,
                     len(snapshot.files), removed or "nothing")
            ran.append("export")
            # Yesterday's status history (and any day missed), after the night's harvests
            # have written their rows; a failure is caught up tomorrow, and the pruning
            # below never deletes a day that is not archived.
            try:
                archived = archive_missing_days(sessions, Path(settings.export_dir), now.date())
                log.info("status history archived: %s", [a.day.isoformat() for a in archived] or "nothing due")
            except Exception:
                log.exception("status history archive failed; the next daily run catches up")
    if leases.acquire(f"daily-prune:{day}", timedelta(days=2)):
        with write_session(sessions) as session:
            deleted = prune_status_history(session, safe_prune_cutoff(
                session, Path(settings.export_dir), retention_cutoff(now, settings.status_history_days)))
        log.info("pruned %d status history rows older than %d days", deleted, settings.status_history_days)
        ran.append("prune")
    # Yesterday's reliability statistics, the last whole UTC day, and any recent day missed
    # (docs/statistics.md).
    if leases.acquire(f"daily-statistics:{day}", timedelta(days=2)):
        try:
            with sessions() as session:
                due = days_due(session, now.date())
            for statistics_day in due:
                with write_session(sessions) as session:
                    evses = compute_day(session, statistics_day,
                                        timedelta(hours=settings.quality_status_silence_hours))
                log.info("statistics of %s computed for %d EVSEs", statistics_day, evses)
        except Exception:
            log.exception("statistics failed; another tick will retry")
            leases.release(f"daily-statistics:{day}")
        else:
            ran.append("statistics")
    return ran
