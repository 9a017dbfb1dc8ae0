"""Runtime settings, read from the environment so that every process (API, worker, CLI)
of one deployment agrees on them without a shared config file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "nap.sqlite3"
# The longest text NAP keeps from a CPO's object (characters), and the least it may be set
# to: DisplayText.text, OCPI's longest limited text, is string(512).
DEFAULT_MAX_TEXT_LENGTH = 4096
MIN_MAX_TEXT_LENGTH = 512


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Publication identity, used in DATEX II headers and the OCPI credentials we present.
    country_code: str = "DE"
    party_id: str = "NAP"
    public_base_url: str = "http://127.0.0.1:8080"
    # The name NAP gives in the OCPI credentials it hands to CPOs.
    operator_name: str = "National Access Point"
    # Server-side maximum page size for our OCPI sender endpoints (X-Limit).
    api_max_limit: int = 1000
    # Publication API. A REMOVED EVSE stays in its location (status REMOVED) this long after
    # its status changed, so consumers see the removal, then leaves the publication.
    removed_evse_visible_hours: int = 48
    # Token-bucket rate limits in requests per minute (0: unlimited), per client IP for
    # anonymous readers and per token for registered consumers without their own limit.
    api_rate_limit_per_minute: int = 120
    api_consumer_rate_limit_per_minute: int = 1200
    # Reverse proxies in front of NAP whose X-Forwarded-For entries are trusted for the
    # client address (0: use the TCP peer address).
    api_trusted_proxies: int = 0
    # Cache-Control max-age of API responses; clients revalidate cheaply with ETag after it.
    api_cache_max_age_seconds: int = 60
    # Largest request body NAP reads (a push, a portal form): beyond it, 413 (on OCPI paths
    # an OCPI envelope, status 2001). 0: no limit.
    max_request_bytes: int = 5 * 1024 * 1024
    # Most features one map API answer carries; a bigger bounding box is cut off (truncated).
    map_max_features: int = 5000
    default_harvest_interval_minutes: int = 15
    # Harvester safety limits: a runaway CPO must not exhaust memory or time.
    harvest_max_pages: int = 10_000
    harvest_max_page_bytes: int = 50 * 1024 * 1024
    harvest_page_limit: int = 1000
    harvest_max_json_depth: int = 32
    harvest_max_objects_per_page: int = 10_000
    # The Locations of a feed never harvested, or whose last good run of the same kind (full
    # or incremental) received at least this many objects, are pulled in a page process of
    # their own (harvesters/page_process.py), on another core than the store; 0: never.
    # Smaller pulls are not worth starting a process for (about 0.2 s).
    harvest_page_process_min_objects: int = 2000
    http_timeout_seconds: float = 30.0
    # Retries of one request: network errors, timeouts and 5xx back off exponentially.
    retry_attempts: int = 4
    retry_backoff_seconds: float = 0.5
    # A run that takes longer is aborted; its lease lasts this long (plus a margin), so a
    # worker killed mid-run frees the feed for others after at most this time.
    harvest_max_seconds: int = 1800
    # Incremental pulls ask for changes since the last good run's start minus this overlap
    # (clock skew between CPO and NAP); a full sync, which also detects deletions, runs at
    # least every full_sync_hours.
    incremental_overlap_seconds: int = 300
    full_sync_hours: int = 24
    # A run that completes but skips more than this share of the EVSEs the CPO served (as
    # invalid, each with an error finding) ends as "degraded" instead of "success": its
    # data is stored all the same, and the run counts as a good one for freshness and the
    # incremental pulls that follow.
    harvest_degraded_evse_share: float = 0.01
    # Harvests one worker process runs at once (PostgreSQL; SQLite serializes writers).
    worker_threads: int = 4
    # Bulk downloads: where the daily snapshots go, and how many days are kept.
    export_dir: str = "var/exports"
    export_keep_days: int = 7
    # Processes that write a DATEX II table file (0: one per core, at most 4).
    export_jobs: int = 0
    # The daily snapshot is made from this hour (UTC) on, after the night's harvests.
    export_hour_utc: int = 2
    # EVSE status history is kept this long (DATEX II deltas, availability, freshness).
    status_history_days: int = 90
    # Networks outbound requests may reach although they are loopback/private (SSRF guard).
    outbound_allow: tuple[str, ...] = ()
    # The portal (nap/portal). Session cookies are signed with secret_key; without it, one
    # key is generated once and kept in the database, so all processes share it.
    secret_key: str | None = None
    # Sign-in throttling (nap/portal/throttle.py): after this many failed sign-ins within the
    # window, per account (e-mail address) and per client address, every sign-in there is
    # refused (429) until the window has passed. 0: no limit of that kind.
    login_max_failures_per_account: int = 10
    login_max_failures_per_address: int = 30
    login_failure_window_seconds: int = 900
    # Background map tiles of the public map ({z}/{x}/{y} URL template). Empty: no tiles,
    # so the map loads nothing from outside NAP; set it to your own or a licensed tile server.
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    # Data-quality rules: a location whose last_updated is older than this is "stale"; an
    # EVSE whose status never changed for this long after it was first seen is "never updated".
    quality_stale_days: int = 365
    quality_status_silence_hours: int = 24
    # Mail (nap/portal/mail.py): sign-up verification, invitations, password resets.
    # smtp://user:pass@host:587 (STARTTLS, required unless ?starttls=off) or smtps://host:465
    # (TLS from the start). Empty: each mail is written as an .eml file to mail_outbox_dir,
    # so a development machine needs no mail server.
    smtp_url: str = ""
    # The From address; empty: "<operator name> <noreply@host of public_base_url>".
    mail_from: str = ""
    mail_outbox_dir: str = "var/outbox"


def max_text_length() -> int:
    """NAP_MAX_TEXT_LENGTH: a text longer than this (or, where OCPI sets a longer length,
    than that) is not stored: an optional field is left out with a warning, a required one
    makes its object invalid. Fields with a spec length are kept up to it silently, and up
    to this limit with a warning (nap/ocpi/schemas.py). It is not in Settings: the OCPI
    schemas are built once per process, when first imported, with the value read then."""
    return max(_int("NAP_MAX_TEXT_LENGTH", DEFAULT_MAX_TEXT_LENGTH), MIN_MAX_TEXT_LENGTH)


def load_settings() -> Settings:
    url = os.environ.get("NAP_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return Settings(
        database_url=url,
        country_code=os.environ.get("NAP_COUNTRY_CODE", "DE"),
        party_id=os.environ.get("NAP_PARTY_ID", "NAP"),
        public_base_url=os.environ.get("NAP_PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
        operator_name=os.environ.get("NAP_OPERATOR_NAME", "National Access Point"),
        export_dir=os.environ.get("NAP_EXPORT_DIR", "var/exports"),
        export_keep_days=_int("NAP_EXPORT_KEEP_DAYS", 7),
        export_jobs=_int("NAP_EXPORT_JOBS", 0),
        export_hour_utc=_int("NAP_EXPORT_HOUR_UTC", 2),
        status_history_days=_int("NAP_STATUS_HISTORY_DAYS", 90),
        outbound_allow=tuple(n.strip() for n in os.environ.get("NAP_OUTBOUND_ALLOW", "").split(",") if n.strip()),
        api_max_limit=_int("NAP_API_MAX_LIMIT", 1000),
        removed_evse_visible_hours=_int("NAP_REMOVED_EVSE_VISIBLE_HOURS", 48),
        api_rate_limit_per_minute=_int("NAP_API_RATE_LIMIT_PER_MINUTE", 120),
        api_consumer_rate_limit_per_minute=_int("NAP_API_CONSUMER_RATE_LIMIT_PER_MINUTE", 1200),
        api_trusted_proxies=_int("NAP_API_TRUSTED_PROXIES", 0),
        api_cache_max_age_seconds=_int("NAP_API_CACHE_MAX_AGE_SECONDS", 60),
        max_request_bytes=_int("NAP_MAX_REQUEST_BYTES", 5 * 1024 * 1024),
        map_max_features=_int("NAP_MAP_MAX_FEATURES", 5000),
        default_harvest_interval_minutes=_int("NAP_HARVEST_INTERVAL_MINUTES", 15),
        harvest_max_pages=_int("NAP_HARVEST_MAX_PAGES", 10_000),
        harvest_max_page_bytes=_int("NAP_HARVEST_MAX_PAGE_BYTES", 50 * 1024 * 1024),
        harvest_page_limit=_int("NAP_HARVEST_PAGE_LIMIT", 1000),
        harvest_max_json_depth=_int("NAP_HARVEST_MAX_JSON_DEPTH", 32),
        harvest_max_objects_per_page=_int("NAP_HARVEST_MAX_OBJECTS_PER_PAGE", 10_000),
        harvest_page_process_min_objects=_int("NAP_HARVEST_PAGE_PROCESS_MIN_OBJECTS", 2000),
        harvest_max_seconds=_int("NAP_HARVEST_MAX_SECONDS", 1800),
        worker_threads=_int("NAP_WORKER_THREADS", 4),
        incremental_overlap_seconds=_int("NAP_INCREMENTAL_OVERLAP_SECONDS", 300),
        full_sync_hours=_int("NAP_FULL_SYNC_HOURS", 24),
        harvest_degraded_evse_share=_float("NAP_HARVEST_DEGRADED_EVSE_SHARE", 0.01),
        secret_key=os.environ.get("NAP_SECRET_KEY") or None,
        login_max_failures_per_account=_int("NAP_LOGIN_MAX_FAILURES_PER_ACCOUNT", 10),
        login_max_failures_per_address=_int("NAP_LOGIN_MAX_FAILURES_PER_ADDRESS", 30),
        login_failure_window_seconds=_int("NAP_LOGIN_FAILURE_WINDOW_SECONDS", 900),
        map_tile_url=os.environ.get("NAP_MAP_TILE_URL", ""),
        map_tile_attribution=os.environ.get("NAP_MAP_TILE_ATTRIBUTION", ""),
        quality_stale_days=_int("NAP_QUALITY_STALE_DAYS", 365),
        quality_status_silence_hours=_int("NAP_QUALITY_STATUS_SILENCE_HOURS", 24),
        smtp_url=os.environ.get("NAP_SMTP_URL", ""),
        mail_from=os.environ.get("NAP_MAIL_FROM", ""),
        mail_outbox_dir=os.environ.get("NAP_MAIL_OUTBOX_DIR", "var/outbox"),
    )
