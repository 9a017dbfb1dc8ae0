"""Runtime settings, read from the environment so that every process (API, worker, CLI)
of one deployment agrees on them without a shared config file."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "nap.sqlite3"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Publication identity, used in DATEX II headers and the OCPI credentials we present.
    country_code: str = "DE"
    party_id: str = "NAP"
    public_base_url: str = "http://127.0.0.1:8080"
    # Server-side maximum page size for our OCPI sender endpoints (X-Limit).
    api_max_limit: int = 1000
    default_harvest_interval_minutes: int = 15
    # Harvester safety limits: a runaway CPO must not exhaust memory or time.
    harvest_max_pages: int = 10_000
    harvest_max_page_bytes: int = 50 * 1024 * 1024
    harvest_page_limit: int = 1000
    http_timeout_seconds: float = 30.0
    extra: dict = field(default_factory=dict)


def load_settings() -> Settings:
    url = os.environ.get("NAP_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return Settings(
        database_url=url,
        country_code=os.environ.get("NAP_COUNTRY_CODE", "DE"),
        party_id=os.environ.get("NAP_PARTY_ID", "NAP"),
        public_base_url=os.environ.get("NAP_PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
        api_max_limit=_int("NAP_API_MAX_LIMIT", 1000),
        default_harvest_interval_minutes=_int("NAP_HARVEST_INTERVAL_MINUTES", 15),
        harvest_max_pages=_int("NAP_HARVEST_MAX_PAGES", 10_000),
        harvest_max_page_bytes=_int("NAP_HARVEST_MAX_PAGE_BYTES", 50 * 1024 * 1024),
        harvest_page_limit=_int("NAP_HARVEST_PAGE_LIMIT", 1000),
    )
