"""Runtime settings, read from the environment so that every process (API, worker, CLI,
the gunicorn master) of one deployment agrees on them without a shared config file.

Every setting is one field of Settings, with its default; its environment variable is NAP_
and the field's name in capitals (a field whose documented variable differs names both in
its validation_alias). An empty variable counts as unset. docs/settings.md lists them all.
Code and tests build Settings(field=value, ...) directly; load_settings() is the
environment's entry point, with errors that name the variable."""
from __future__ import annotations

import multiprocessing
import os
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The least NAP_MAX_TEXT_LENGTH may be set to: DisplayText.text, OCPI's longest limited
# text, is string(512).
MIN_MAX_TEXT_LENGTH = 512

# A list in one variable, comma-separated ("10.0.0.0/8, 192.168.0.0/16"), not JSON.
CommaSeparated = Annotated[tuple[str, ...], NoDecode]


class SettingsError(ValueError):
    """The environment holds a value NAP cannot use; the message names the variable."""


class Settings(BaseSettings):
    # validate_by_name: code names a field whose variable differs (validation_alias) by the
    # field's name, as every other.
    model_config = SettingsConfigDict(env_prefix="NAP_", env_ignore_empty=True, frozen=True, extra="forbid",
                                      validate_by_name=True)

    database_url: str = "sqlite:///var/nap.sqlite3"
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
    # Below the points zoom the map API clusters only a box with more matching locations
    # than this: a few hundred pins are readable, and a cluster would hide them for nothing.
    map_cluster_min_locations: int = 200
    # Minutes between harvests of a feed registered without its own interval. Its variable
    # is NAP_HARVEST_INTERVAL_MINUTES; NAP_DEFAULT_HARVEST_INTERVAL_MINUTES works too.
    default_harvest_interval_minutes: int = Field(15, validation_alias=AliasChoices(
        "NAP_HARVEST_INTERVAL_MINUTES", "NAP_DEFAULT_HARVEST_INTERVAL_MINUTES"))
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
    # A harvest that has waited this long for one answer of its CPO (a request with its
    # retries) is held up by the CPO, not by this machine: it stops counting against
    # worker_threads, and the next due feed starts; so does one that had to ask again for
    # an answer (nap/worker.py). Up to worker_waiting_threads such
    # harvests run beside the others in each worker (PostgreSQL).
    harvest_slow_answer_seconds: float = Field(5.0, gt=0)
    worker_waiting_threads: int = Field(4, ge=0)
    # Bulk downloads: where the daily snapshots go, and how many days are kept (a year by
    # default: regulators look back; the status history archive beside them is kept).
    export_dir: str = "var/exports"
    export_keep_days: int = 365
    # The licence NAP publishes its data under (a URI, EU licence vocabulary preferred): the
    # catalogue's dct:license and /downloads name it, beside each CPO's own stated licence.
    data_licence: str = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
    # Processes that write a DATEX II table file (0: one per core, at most 4).
    export_jobs: int = 0
    # A store publishing at least this many locations has its DATEX II tables written
    # ahead by the worker into gzip files, again once they have changed and are this many
    # seconds old, and served from them (exporters/datex2/table_files.py); a smaller one's
    # are built at each request. 0: always at each request.
    datex2_table_file_min_locations: int = Field(2000, ge=0)
    datex2_table_file_seconds: int = Field(3600, gt=0)
    # The daily snapshot is made from this hour (UTC) on, after the night's harvests.
    export_hour_utc: int = 2
    # EVSE status history is kept this long (DATEX II deltas, availability, freshness).
    status_history_days: int = 90
    # Push delivery of DATEX II documents to subscribers (exporters/push/): a table
    # subscriber gets a changed table at most once per this period; a status subscriber a
    # full snapshot at least this often and after this many deltas, deltas at most once per
    # push_min_interval_seconds; a failed delivery is tried again after push_retry_seconds,
    # doubling up to push_retry_max_seconds.
    push_table_period_seconds: int = 3600
    push_snapshot_hours: float = 6.0
    push_snapshot_after_deltas: int = 1000
    push_min_interval_seconds: float = 1.0
    push_retry_seconds: float = 5.0
    push_retry_max_seconds: float = 600.0
    push_timeout_seconds: float = 30.0
    # The DATEX II 3.7 profiles whose status deltas the worker writes ahead in segments
    # (exporters/datex2/status_segments.py); the others' deltas are built at each request.
    # Empty: none.
    datex2_status_segments: CommaSeparated = ("afir",)
    # Networks outbound requests may reach although they are loopback/private (SSRF guard).
    outbound_allow: CommaSeparated = ()
    # Fernet keys of the CPO tokens at rest, the first encrypts, all decrypt
    # (nap/store/secrets.py). Empty: a development key next to a SQLite database.
    # repr=False here and below: secrets stay out of logs and tracebacks that show settings.
    token_keys: CommaSeparated = Field((), repr=False)
    # The portal (nap/portal). Session cookies are signed with secret_key; without it, one
    # key is generated once and kept in the database, so all processes share it.
    secret_key: str | None = Field(None, repr=False)
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
    smtp_url: str = Field("", repr=False)
    # The From address; empty: "<operator name> <noreply@host of public_base_url>".
    mail_from: str = ""
    mail_outbox_dir: str = "var/outbox"
    # The longest text NAP keeps from a CPO's object (characters); less than 512 counts as
    # 512. The OCPI schemas read it once per process, when first imported
    # (max_text_length() below), so a Settings built later in code does not change it.
    max_text_length: int = 4096
    # Log lines of the `nap` command: "json" (for machines: systemd, docker) or "text";
    # unset: text on a terminal, JSON otherwise.
    log_format: Literal["json", "text"] | None = None
    # gunicorn (deploy/gunicorn.conf.py, loaded by `nap serve` too, says why these values):
    # the address it listens on, its worker processes (one per core) and threads in each.
    bind: str = "127.0.0.1:8080"
    workers: int = Field(default_factory=multiprocessing.cpu_count)
    threads: int = 4

    @field_validator("outbound_allow", "token_keys", "datex2_status_segments", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("datex2_status_segments")
    @classmethod
    def _datex2_profiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [profile for profile in value if profile not in ("generic", "afir")]
        if unknown:
            raise ValueError(f"unknown DATEX II profile {', '.join(unknown)}; use generic and/or afir")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        # Links are made by appending paths, each starting with "/".
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("max_text_length")
    @classmethod
    def _at_least_ocpis_longest_text(cls, value: int) -> int:
        return max(value, MIN_MAX_TEXT_LENGTH)


def environment_names(field: str) -> tuple[str, ...]:
    """The environment variables a field is read from, the documented one first."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(name for name in alias.choices if isinstance(name, str) and name.startswith("NAP_"))
    return (f"NAP_{field.upper()}",)


def max_text_length() -> int:
    """NAP_MAX_TEXT_LENGTH: a text longer than this (or, where OCPI sets a longer length,
    than that) is not stored: an optional field is left out with a warning, a required one
    makes its object invalid. Fields with a spec length are kept up to it silently, and up
    to this limit with a warning (nap/ocpi/schemas.py). The OCPI schemas are built once
    per process, when first imported, with the value read then."""
    return load_settings().max_text_length


def load_settings() -> Settings:
    """The settings of this process, from its environment. A value that does not fit its
    setting raises SettingsError naming the variable, not a field of a model."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError("; ".join(_explain(problem) for problem in error.errors())) from None


def _explain(problem: dict) -> str:
    key = str(problem["loc"][0]) if problem["loc"] else ""
    field = next((name for name in Settings.model_fields if key == name or key in environment_names(name)), None)
    if field is None:
        return problem["msg"]
    names = environment_names(field)
    variable = next((name for name in names if name in os.environ), names[0])
    shown = f" (got {problem['input']!r})" if Settings.model_fields[field].repr else ""
    return f"{variable}: {problem['msg']}{shown}"
