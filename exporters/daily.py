"""Daily jobs: the bulk snapshot (made once a day however many workers run: a lease named
after the day, kept after success, decides), snapshot retention, status history pruning."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from exporters.bulk import export_snapshot, prune_snapshots
from nap.store.db import write_session
from nap.config import Settings
from nap.store.leases import Leases
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
    if leases.acquire(f"daily-prune:{day}", timedelta(days=2)):
        with write_session(sessions) as session:
            deleted = prune_status_history(session, retention_cutoff(now, settings.status_history_days))
        log.info("pruned %d status history rows older than %d days", deleted, settings.status_history_days)
        ran.append("prune")
    return ran
