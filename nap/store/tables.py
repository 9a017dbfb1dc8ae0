"""Database tables. Pydantic schemas for the OCPI objects live apart, in nap.ocpi.

Each OCPI object keeps its full normalized JSON (`data`) beside the few columns we query on,
so serving it needs no reassembly of dozens of columns and no OCPI field is ever lost.
Locations, EVSEs and connectors are separate rows so that a pushed EVSE status touches one
small row, not a whole location document.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nap.store.secrets import EncryptedText
from nap.store.states import COMPLETED_RUN_STATUSES  # noqa: F401 (tests import it from here)
from nap.store.states import (
    ClaimSource,
    ClaimState,
    FeedKind,
    FeedStatus,
    MatchKind,
    ObjectKind,
    RunStatus,
    UserRole,
    check_name,
    check_sql,
)
from nap.store.types import JsonDocument, NullableJsonDocument, TextJsonDocument, UtcDateTime


class Base(DeclarativeBase):
    pass


def _state_check(table: str, column: str, values: type) -> CheckConstraint:
    # On SQLite, migration 0012 makes triggers of it instead (nap/store/state_checks.py).
    return CheckConstraint(check_sql(column, values), name=check_name(table, column))


class Feed(Base):
    """A CPO endpoint registered with the access point."""

    __tablename__ = "feeds"
    __table_args__ = (_state_check("feeds", "status", FeedStatus), _state_check("feeds", "kind", FeedKind))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    versions_url: Mapped[str] = mapped_column(Text)
    # The token NAP presents to the CPO (a static token, or TOKEN_C after a handshake),
    # encrypted at rest (nap/store/secrets.py).
    token: Mapped[str] = mapped_column(EncryptedText)
    # SHA-256 of the token the CPO presents when it pushes to NAP (never stored in clear).
    inbound_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(30), default=FeedStatus.ACTIVE)
    # Whose back end it is (FeedKind): the weight of its data where several feeds describe
    # one charger (nap/merge). NULL reads as a CPO's (`feed_kind`), which every feed was
    # before migration 0020; no default here, so that inserts work at older revisions too.
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)

    @property
    def feed_kind(self) -> FeedKind:
        return FeedKind(self.kind or FeedKind.CPO)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=15)
    licence: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The CPO's OCPI identity; fills in objects of versions that lack it (2.1.1).
    country_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    party_id: Mapped[str | None] = mapped_column(String(3), nullable=True)
    ocpi_version: Mapped[str | None] = mapped_column(String(10), nullable=True)
    locations_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    tariffs_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_success_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_full_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # When the OCPI credentials handshake last succeeded (None: static token, no handshake).
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    credentials_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    # How the CPO took the token in the Authorization header in the last good run, when it
    # showed (harvesters/ocpi_client.py): True plain, False Base64-encoded; None: as the
    # version says. The next run starts with it, instead of a refused request each time.
    plain_token: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # When someone last asked for a harvest now (the portal, the CLI): the worker's next
    # tick harvests the feed whatever its interval. A run started at or after it answers
    # the request (nap/feeds.py, nap/worker.py); None when nobody is waiting.
    harvest_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class HarvestRun(Base):
    """One pull of one feed; the audit trail of what was fetched and what came of it."""

    __tablename__ = "harvest_runs"
    __table_args__ = (
        _state_check("harvest_runs", "status", RunStatus),
        # Each due feed's last run that ended, at every worker tick (nap/worker.py): one step
        # down this index per feed, however long the history.
        Index("ix_harvest_runs_feed_answered", "feed_id", "id",
              sqlite_where=text("slowest_answer_seconds IS NOT NULL"),
              postgresql_where=text("slowest_answer_seconds IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)
    full_sync: Mapped[bool] = mapped_column(Boolean, default=True)
    # The process that ran it (host:pid:nonce), from its lease: which node did what.
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ocpi_version: Mapped[str | None] = mapped_column(String(10), nullable=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    objects_received: Mapped[int] = mapped_column(Integer, default=0)
    objects_new: Mapped[int] = mapped_column(Integer, default=0)
    objects_changed: Mapped[int] = mapped_column(Integer, default=0)
    objects_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    objects_removed: Mapped[int] = mapped_column(Integer, default=0)
    # Objects served but not stored because of error findings.
    objects_skipped: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What became of the locations, EVSEs and connectors the CPO served, in a run that
    # completed (nap.ocpi.findings.UnitCounts.as_dict(): {"evses": {"served": ..,
    # "stored": .., "repaired": .., "skipped": ..}, ...}); None for a failed run, and for
    # runs from before migration 0006.
    unit_counts: Mapped[dict | None] = mapped_column(JsonDocument, nullable=True)
    # Whom the objects served belong to, refused ones included: {"parties": {"DE/ABC":
    # objects}, "evse_operators": {"DE*ABC": EVSEs}}, the evidence an administrator weighs
    # for the feed's party claims (nap.parties.evidence). None for a failed run.
    served_parties: Mapped[dict | None] = mapped_column(JsonDocument, nullable=True)
    # The longest the CPO kept the run waiting for one answer (a request with its retries and
    # back-offs), seconds, as the worker saw it (a page process reports only waits over half
    # NAP_HARVEST_SLOW_ANSWER_SECONDS), and how many retries its requests took; every worker
    # starts a feed held up by its CPO last time beside its harvest threads (nap/worker.py).
    # None for runs from before migration 0023 and abandoned ones.
    slowest_answer_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    answer_retries: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Finding(Base):
    """Something wrong with one object a CPO served: it explains why the object was skipped
    (severity "error") or what we repaired or doubt (severity "warning")."""

    __tablename__ = "findings"
    __table_args__ = (_state_check("findings", "object_type", ObjectKind),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("harvest_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    severity: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class _PublishedObject:
    """The columns every object a feed publishes under a party has (Location, Tariff): its
    key, its dates and the content hash a harvest compares to skip unchanged objects."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    # The id as the CPO last spelled it; `id_key` is what lookups compare (nap.ocpi.ids).
    ocpi_id: Mapped[str] = mapped_column(String(36))
    id_key: Mapped[str] = mapped_column(String(80))
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @classmethod
    def change_stamps(cls, moment: datetime) -> dict[str, datetime]:
        """The columns every write of an object's content sets (Location.static_changed_at)."""
        return {"changed_at": moment}


class Location(_PublishedObject, Base):
    __tablename__ = "locations"
    __table_args__ = (
        # OCPI ids are case-insensitive: the key is the folded id (nap.ocpi.ids.id_key).
        Index("uq_location_id_key", "country_code", "party_id", "id_key", unique=True),
        Index("ix_locations_last_updated", "last_updated", "id"),
        Index("ix_locations_lat_lon", "latitude", "longitude"),
        # Covers the publication's count pass and page ids (in id order, with what the filter
        # and the ETag need) without touching the rows, whose JSON documents spill over many
        # pages: at 31,000 locations on SQLite the count pass went from 50 to 2 ms, a page's
        # ids from 14 to 0.9 ms. id comes first so that no query with equality on publish
        # and removed_at (the bbox search) prefers it to its own index.
        Index("ix_locations_publication", "id", "publish", "removed_at", "changed_at", "last_updated"),
        Index("ix_locations_static_changed_at", "static_changed_at"),
        # The latest change, in every DATEX II table and status request's version: found in
        # the covering index above it took a pass over it (135 ms at 315,000 locations).
        Index("ix_locations_changed_at", "changed_at"),
    )

    # changed_at moves with every change; this one with every change but a patch of EVSE
    # status fields alone (nap/store/evse_status.py), so that what holds no status (the
    # DATEX II tables and their versions) is read again only when it may have changed, not
    # at every status push. Nullable only because SQLite cannot add a NOT NULL column; the
    # migration fills it and every write sets it (change_stamps).
    static_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @classmethod
    def change_stamps(cls, moment: datetime) -> dict[str, datetime]:
        return {"changed_at": moment, "static_changed_at": moment}

    publish: Mapped[bool] = mapped_column(Boolean)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # The normalized OCPI 2.3.0 Location without its `evses` (they live in their own rows).
    data: Mapped[dict] = mapped_column(TextJsonDocument)
    # The object exactly as the CPO served it, in its own OCPI version. Deferred: it holds
    # the EVSEs too, and decoding it with every row would be a fifth of a DATEX II export.
    raw: Mapped[dict] = mapped_column(TextJsonDocument, deferred=True)


#: nap.ocpi.ids.normalized_evse_id in SQL, for the index and the queries that use it.
EVSE_KEY_SQL = "upper(replace(evse_id, '*', ''))"
#: The same as a column expression: literal text, not bound parameters, so that the
#: planner matches it to the index.
EVSE_KEY = literal_column(EVSE_KEY_SQL.replace("evse_id", "evses.evse_id"))


class Evse(Base):
    __tablename__ = "evses"
    __table_args__ = (
        UniqueConstraint("location_pk", "uid", name="uq_evse_uid"),
        # The eMI3 id as nap.ocpi.ids.normalized_evse_id folds it ("DE*ABC*E1" and "deabce1"
        # are one id), the form every lookup by EVSE id uses: another source's copy of a
        # charger (nap/store/sources.py), the same id elsewhere (nap/quality), the portal's
        # lookup.
        Index("ix_evses_evse_key", text(EVSE_KEY_SQL)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_pk: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(36))
    evse_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    # When `status` last changed (to REMOVED, in particular: removed EVSEs leave the
    # publication a configurable time after that).
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    # The normalized OCPI 2.3.0 EVSE without its `connectors`.
    data: Mapped[dict] = mapped_column(TextJsonDocument)


class FeedParty(Base):
    """A feed's claim to publish under a country_code/party_id pair (nap/parties.py).

    Any number of feeds may claim a pair; a claim is `claimed` until an admin verifies it,
    and only under a `verified` claim does a feed publish. At most one own claim per pair is
    verified; hubs and aggregators that carry the party's data hold `carried` claims beside
    it. A `revoked` claim stays as the record of what was decided."""

    __tablename__ = "feed_parties"
    __table_args__ = (
        UniqueConstraint("feed_id", "country_code", "party_id", name="uq_feed_party_claim"),
        _state_check("feed_parties", "state", ClaimState),
        _state_check("feed_parties", "source", ClaimSource),
        Index("uq_feed_party_verified", "country_code", "party_id", unique=True,
              sqlite_where=text(f"state = '{ClaimState.VERIFIED}' AND NOT carried"),
              postgresql_where=text(f"state = '{ClaimState.VERIFIED}' AND NOT carried")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    # The OCPI BusinessDetails the CPO gave for this party in its credentials (CredentialsRole
    # business_details; 2.1.1: the credentials' own), as sent; None when registered by hand.
    # OCPI: they are the operator of the party's locations that name none (DATEX II uses them).
    business_details: Mapped[dict | None] = mapped_column(JsonDocument, nullable=True)
    state: Mapped[str] = mapped_column(String(10), default=ClaimState.CLAIMED)
    # Where the claim came from (ClaimSource). None before migration 0010.
    source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The claim of a hub or an aggregator (not the party's own back end) to carry the party's
    # data: verified when the party has authorised it. Any number of carried claims per pair
    # may be verified beside the one own claim; their data merges with it (nap/merge).
    carried: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL",
                                                              name="fk_feed_parties_decided_by"), nullable=True)


class EvseStatusChange(Base):
    """Every EVSE status change, pulled or pushed: the source of the DATEX II status
    deltas, availability figures and the freshness (CPO time vs received time) checks."""

    __tablename__ = "evse_status_history"
    __table_args__ = (
        Index("ix_status_history_received", "received_at"),
        Index("ix_status_history_evse", "location_pk", "evse_uid", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    location_pk: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    evse_uid: Mapped[str] = mapped_column(String(36))
    old_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    new_status: Mapped[str] = mapped_column(String(20))
    cpo_time: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    via: Mapped[str] = mapped_column(String(10))  # "pull" or "push"


class Connector(Base):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("evse_pk", "ocpi_id", name="uq_connector_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evse_pk: Mapped[int] = mapped_column(ForeignKey("evses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    ocpi_id: Mapped[str] = mapped_column(String(36))
    standard: Mapped[str] = mapped_column(String(40))
    power_type: Mapped[str] = mapped_column(String(20))
    max_electric_power: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[dict] = mapped_column(TextJsonDocument)


class LocationSource(Base):
    """What one source (feed) said about a published location, kept when more than one
    source describes it (nap/merge, docs/merge-rules.md): the published row is then the
    merge of these, and every candidate stays to be merged again when any source changes.
    A location with a single source has none: its row is that source's own document."""

    __tablename__ = "location_sources"
    __table_args__ = (
        # One candidate per source object: a hub's location id may differ from the CPO's.
        Index("uq_location_source", "feed_id", "country_code", "party_id", "id_key", unique=True),
        Index("ix_location_sources_location", "location_pk"),
        _state_check("location_sources", "match", MatchKind),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_pk: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    # The source's own key for the object (a hub or an aggregator may name it otherwise).
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    ocpi_id: Mapped[str] = mapped_column(String(36))
    id_key: Mapped[str] = mapped_column(String(80))
    match: Mapped[str] = mapped_column(String(20))  # MatchKind
    # Why a match by place was made ("35 m apart, same address"), for the administrator.
    match_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # False for a low-confidence match an administrator has not confirmed yet.
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    # The source's normalized OCPI 2.3.0 Location with its EVSEs, as it last served it.
    document: Mapped[dict] = mapped_column(TextJsonDocument)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Where this source disagrees with the published value (nap.merge.Conflict.as_dict()),
    # for the quality reports; None when it agrees throughout.
    conflicts: Mapped[list | None] = mapped_column(NullableJsonDocument, nullable=True)


class Tariff(_PublishedObject, Base):
    __tablename__ = "tariffs"
    __table_args__ = (
        Index("uq_tariff_id_key", "country_code", "party_id", "id_key", unique=True),
        Index("ix_tariffs_last_updated", "last_updated", "id"),
    )

    data: Mapped[dict] = mapped_column(JsonDocument)
    raw: Mapped[dict] = mapped_column(TextJsonDocument)


class Lease(Base):
    """A named, expiring claim on a job, so that of many worker processes on one database
    exactly one runs it. Expiry frees the job when its holder dies (even by SIGKILL)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Consumer(Base):
    """A registered consumer of the publication API (navigation provider, eMSP, app).

    Reading is anonymous; a consumer token only buys a higher rate limit and, through
    `publish_tokens`, the right to see publish=false locations whose `publish_allowed_to`
    lists one of the consumer's tokens. Only the SHA-256 of the token is stored."""

    __tablename__ = "consumers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Requests per minute; None means the deployment's default for consumers.
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # OCPI PublishTokenType objects (uid/type/visual_number/issuer/group_id) the consumer holds.
    publish_tokens: Mapped[list] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# -- The portal (nap/portal): people, who owns which feed, what happened to a feed. ----------


class User(Base):
    """Someone who signs in to the portal: a CPO (sees only the feeds it owns) or an admin."""

    __tablename__ = "users"
    __table_args__ = (_state_check("users", "role", UserRole),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased, so that sign-in does not depend on how the address was typed.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # werkzeug.security hash (method, salt and parameters included); never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # None until the user follows the link mailed at sign-up; a feed can be registered only
    # after. Users made with `nap users add`, by an invitation (its link proves the address)
    # or before migration 0011 count as verified.
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Colleagues who see and manage the same feeds (nap/portal/ownership.py). None: a user on
    # their own, which every user is until they invite someone or accept an invitation.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL", name="fk_users_organisation_id"),
        nullable=True, index=True)


class FeedOwner(Base):
    """Which users may see and manage which feed (a link table: feeds stay as they are)."""

    __tablename__ = "feed_owners"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True, index=True)


class FeedEvent(Base):
    """What happened to a feed outside harvest runs: registration, handshakes, approval,
    suspension. The CPO sees it on its feed page; it is also the admins' audit trail."""

    __tablename__ = "feed_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    # Who did it; None for the system, and kept (as None) when the user is deleted.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    message: Mapped[str] = mapped_column(Text)


class AppSecret(Base):
    """Secrets generated once per deployment and shared by every process through the
    database (the session signing key when NAP_SECRET_KEY is not set)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PortalSession(Base):
    """A signed-in portal session (nap/portal/session_store.py). The cookie carries a random
    id; only its SHA-256 is kept, so a copy of this table does not sign anyone in. Signing
    out or changing the password sets revoked_at; the cookie is then worth nothing, wherever
    it was copied to. Rows are deleted once expired (at the next sign-in of anyone)."""

    __tablename__ = "portal_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The user's password hash as it was at sign-in (a fingerprint of it): a password changed
    # by any route, even a plain UPDATE, ends the session although nothing revoked it.
    password_fingerprint: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Fixed at sign-in (the portal's session lifetime): not moved by use, so that no request
    # has to write, and a stolen cookie is worth at most that long even if nobody revokes it.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Organisation(Base):
    """Users who work for the same CPO: each member sees and manages every feed a member owns
    (feed_owners). Made when a user first invites a colleague."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccountToken(Base):
    """A link mailed by the portal (nap/portal/account_tokens.py): verify an address ("verify"),
    set a new password ("reset"), or join an organisation ("invite"). Only the SHA-256 of the
    random token is kept, so reading this table opens nothing; each is used once (used_at)
    and expires."""

    __tablename__ = "account_tokens"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the token
    purpose: Mapped[str] = mapped_column(String(10))
    # The address the link was mailed to: a verification counts only while the user still has it.
    email: Mapped[str] = mapped_column(String(254))
    # The user it is for; None for an invitation (the account does not exist yet).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    # An invitation: the organisation joined, and who invited.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                        nullable=True)
    invited_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", name="fk_account_tokens_invited_by"), nullable=True)
    # A reset link: the password hash's fingerprint when it was mailed, so the link dies once
    # the password changes by any route.
    password_fingerprint: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Supplement(Base):
    """One version of what a CPO supplies for a party, or for one of its locations, that
    OCPI cannot carry (nap/supplements.py): names, service, facilities, payment, grid power,
    NUTS region. Rows are never changed: each change is a new version, the current one is
    the highest, and the older ones are the history."""

    __tablename__ = "supplements"
    __table_args__ = (
        UniqueConstraint("country_code", "party_id", "location_key", "version", name="uq_supplement_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    # "" for the party's own values; else the folded OCPI location id (nap.ocpi.ids.id_key).
    location_key: Mapped[str] = mapped_column(String(80), default="")
    # The location id as the CPO spelled it; None for the party's own values.
    location_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    # The values of this version (nap.supplements.FIELDS); an empty object clears them.
    values: Mapped[dict] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Who made it; None for a CSV import by an operator, and kept (as None) when the user is deleted.
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", name="fk_supplements_created_by"), nullable=True)
    source: Mapped[str] = mapped_column(String(10))  # "portal" or "csv"


class PushSubscriber(Base):
    """An endpoint NAP pushes a DATEX II profile's documents to (exporters/push/), registered
    by an administrator, with what it has been sent so far. Secrets (the auth header's value,
    the client certificate and its key) are encrypted at rest like CPO tokens."""

    __tablename__ = "push_subscribers"
    __table_args__ = (
        CheckConstraint("kind IN ('table', 'status')", name="ck_push_subscribers_kind"),
        UniqueConstraint("name", name="uq_push_subscribers_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))  # SubscriptionKind
    auth_header_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    auth_header_value: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    client_cert_pem: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    client_key_pem: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    # The CAs that sign the subscriber's server certificate; None: the system's.
    ca_bundle_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    # ["DE*ABC", ...]: only these CPOs' data; None: every CPO.
    parties: Mapped[list | None] = mapped_column(JsonDocument, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Status: the `since` of the next delta (the start of the last delivery's window), so
    # it is committed with the delivery record and a failed delivery moves nothing.
    watermark: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Set at registration and by any failure: the next delivery is a full snapshot.
    needs_snapshot: Mapped[bool] = mapped_column(Boolean, default=True)
    # Changes (status history rows and tariffs) the last delivery saw in the overlap window
    # after the watermark: more there now means something new, or committed late.
    window_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The status and tariff changes in that window the last delivery carried, or one before
    # it did (nap/store/status_history.SeenChanges as JSON): the next delta leaves them out
    # rather than send the window again.
    window_ids: Mapped[dict | None] = mapped_column(JsonDocument, nullable=True)
    last_snapshot_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deltas_since_snapshot: Mapped[int] = mapped_column(Integer, default=0)
    # Table: the version last delivered.
    table_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Consecutive failures, and when the backoff lets the next attempt go.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PushDelivery(Base):
    """One attempt to deliver a document to a push subscriber, whatever its outcome."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        CheckConstraint("kind IN ('snapshot', 'delta', 'table')", name="ck_push_deliveries_kind"),
        Index("ix_push_deliveries_subscriber_at", "subscriber_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscribers.id", ondelete="CASCADE", name="fk_push_deliveries_subscriber"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(10))  # DeliveryKind
    items: Mapped[int] = mapped_column(Integer)  # charging points or statuses in the document
    size: Mapped[int] = mapped_column(Integer)  # bytes sent (gzip)
    ok: Mapped[bool] = mapped_column(Boolean)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # From the oldest change the document carries to the subscriber's answer.
    lag_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 1 for a first try, 2 after one failure...


class Datex2StatusSegment(Base):
    """A few seconds of the DATEX II 3.7 status changes, written once by the worker
    (exporters/datex2/status_segments.py) and joined by every status delta that covers
    them. Each segment follows the one before it (previous_id, unique: one writer's chain
    never forks) and holds the changes received after `since` up to `made_at`, but for those
    that segment had (its window_ids)."""

    __tablename__ = "datex2_status_segments"
    __table_args__ = (
        UniqueConstraint("previous_id", name="uq_datex2_status_segments_previous"),
        Index("ix_datex2_status_segments_profile_made", "profile", "made_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile: Mapped[str] = mapped_column(String(20))  # exporters/datex2/api.py PROFILES
    # None: the first of a chain. No foreign key: pruning the oldest leaves the next one as it is.
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    made_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The changes in the overlap window before made_at that this segment holds
    # (nap/store/status_history.SeenChanges as JSON): the next one leaves them out.
    window_ids: Mapped[dict | None] = mapped_column(JsonDocument, nullable=True)
    items: Mapped[int] = mapped_column(Integer)  # refill point statuses
    # The site statuses as raw deflate data ending in a sync flush (nap.compression.Piece),
    # with the CRC-32 and length of the plain XML.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    crc: Mapped[int] = mapped_column(BigInteger)
    plain_size: Mapped[int] = mapped_column(BigInteger)


from datetime import date  # noqa: E402 (the statistics tables below are the only ones with a day)

from sqlalchemy import Date  # noqa: E402


class EvseDailyStatistics(Base):
    """One EVSE's UTC day, from its status history (nap/store/evse_statistics.py,
    docs/statistics.md): whole seconds in each state, which add up to the day's 86,400, so
    that every share and every aggregate is an exact ratio of integers."""

    __tablename__ = "evse_daily_statistics"
    __table_args__ = (
        UniqueConstraint("day", "location_pk", "evse_uid", name="uq_evse_daily_statistics"),
        Index("ix_evse_daily_statistics_party", "country_code", "party_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    location_pk: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    evse_uid: Mapped[str] = mapped_column(String(36))
    evse_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    power_class: Mapped[str] = mapped_column(String(20))  # nap/store/power_classes.py, when computed
    operational_seconds: Mapped[int] = mapped_column(Integer)
    occupied_seconds: Mapped[int] = mapped_column(Integer)  # CHARGING or BLOCKED (part of operational)
    out_of_order_seconds: Mapped[int] = mapped_column(Integer)  # OUTOFORDER or INOPERATIVE
    unknown_seconds: Mapped[int] = mapped_column(Integer)  # UNKNOWN, or silent beyond the window
    not_in_service_seconds: Mapped[int] = mapped_column(Integer)  # PLANNED, REMOVED, not yet known
    status_changes: Mapped[int] = mapped_column(Integer)
    # The state at the end of the day and the last news before it: where the next day starts.
    end_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_news_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)




class DailyStatisticsGroup(Base):
    """The EVSE days of one day summed per operator and power class, written with them:
    national, operator and power-class figures over years read a few rows per day, not one
    per EVSE. Sums of seconds over many EVSEs exceed 32 bits, hence BigInteger."""

    __tablename__ = "daily_statistics_groups"
    __table_args__ = (
        UniqueConstraint("day", "country_code", "party_id", "power_class", name="uq_daily_statistics_group"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    power_class: Mapped[str] = mapped_column(String(20))
    evse_days: Mapped[int] = mapped_column(Integer)
    operational_seconds: Mapped[int] = mapped_column(BigInteger)
    occupied_seconds: Mapped[int] = mapped_column(BigInteger)
    out_of_order_seconds: Mapped[int] = mapped_column(BigInteger)
    unknown_seconds: Mapped[int] = mapped_column(BigInteger)
    not_in_service_seconds: Mapped[int] = mapped_column(BigInteger)
    status_changes: Mapped[int] = mapped_column(BigInteger)


class SiteVersion(Base):
    """A published location's DATEX II site version as the German table's version last
    computed it (exporters/datex2/de_afir/versioning.py), kept so that a process that starts
    reads them instead of building every site again (minutes at a million EVSEs). A row
    holds while the location's static_changed_at, the parties' operators and supplements
    (`context`) and its zone's UTC offset are those it was computed with."""

    __tablename__ = "datex2_site_versions"

    location_pk: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True)
    static_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    context: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(Text, nullable=True)  # as the CPO gave it
    utc_offset: Mapped[str | None] = mapped_column(String(8), nullable=True)
    version: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: not published
