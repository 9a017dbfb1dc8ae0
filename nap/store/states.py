"""Every state a row can be in, one StrEnum per state column.

A new value is one edit here plus a migration: the database refuses any value outside
these sets (CHECK constraints on PostgreSQL, triggers on SQLite; migration 0012 and
`CHECKED_COLUMNS`). The members are `str`s, so they compare equal to the text the
database returns and format as their value.
"""
from __future__ import annotations

from enum import StrEnum


class FeedStatus(StrEnum):
    """Whether NAP harvests a feed and takes its pushes (feeds.status)."""

    #: Registered through the portal (nap/portal/registration.py), waiting for an
    #: administrator: not harvested, pushes refused, nothing published.
    PENDING = "pending"
    #: Harvested on schedule, pushes taken. Reached by `nap feeds add`, an administrator's
    #: approval (from pending) or resumption (from suspended), or credentials that work again
    #: (from needs_credentials, nap.feeds.credentials_accepted).
    ACTIVE = "active"
    #: The CPO refused NAP's token in a harvest, or NAP unregistered from it (`nap feeds
    #: unregister`): not harvested until new credentials work, pushes still taken.
    NEEDS_CREDENTIALS = "needs_credentials"
    #: Stopped by an administrator, with a reason (from active or needs_credentials): not
    #: harvested, pushes refused; what is published stays.
    SUSPENDED = "suspended"
    #: An administrator refused the registration, with a reason (from pending); final.
    REJECTED = "rejected"
    #: The CPO withdrew the feed (from any but rejected): not harvested, pushes refused, its
    #: objects left the publication; final.
    WITHDRAWN = "withdrawn"


#: Feeds whose pushes the receiver refuses (the rest, active and needs_credentials, push).
PUSH_REFUSED_FEED_STATUSES = frozenset({FeedStatus.SUSPENDED, FeedStatus.PENDING, FeedStatus.REJECTED,
                                        FeedStatus.WITHDRAWN})


class RunStatus(StrEnum):
    """How a harvest run went (harvest_runs.status)."""

    #: Started (harvesters/harvest.py); every run begins here.
    RUNNING = "running"
    #: Completed from running, its data stored.
    SUCCESS = "success"
    #: Completed from running, its data stored, but it skipped more than
    #: NAP_HARVEST_DEGRADED_EVSE_SHARE of the EVSEs served.
    DEGRADED = "degraded"
    #: Ended from running by an error (or found running by the next harvest of its feed,
    #: its process gone); nothing of it is stored.
    FAILED = "failed"


#: A run that completed and whose data was stored.
COMPLETED_RUN_STATUSES = (RunStatus.SUCCESS, RunStatus.DEGRADED)


class ClaimState(StrEnum):
    """A feed's claim to publish under a country_code/party_id pair (feed_parties.state;
    the transitions are nap/parties.py's)."""

    #: Named by the registration form, the CPO's credentials or an administrator, or named
    #: again after a revocation; waits for an administrator.
    CLAIMED = "claimed"
    #: Verified by an administrator (from claimed, or moved from another feed's verified
    #: claim): the feed publishes under the pair. At most one per pair.
    VERIFIED = "verified"
    #: Revoked by an administrator, a rejection or a withdrawal (from claimed or verified),
    #: or the verified claim moved to another feed; kept as the record of the decision.
    REVOKED = "revoked"


class ClaimSource(StrEnum):
    """Who named the pair a claim is on (feed_parties.source; NULL for claims from before
    migration 0010). Set when the claim is made or made again, never otherwise."""

    #: The CPO, in the portal's registration form; waits for an administrator.
    FORM = "form"
    #: A role in the CPO's OCPI credentials (the handshake); waits for an administrator.
    CREDENTIALS = "credentials"
    #: An administrator (`nap feeds add`, the claims board, a move): verified at once.
    ADMIN = "admin"


class FeedKind(StrEnum):
    """Whose back end a feed is (feeds.kind): what its data weighs when several sources
    describe one charger (nap/merge, docs/merge-rules.md). Set by an administrator."""

    #: The party's own back end: the most authoritative source of its static data.
    CPO = "cpo"
    #: A roaming hub carrying several parties that authorised it (OCPI 2.3.0 gives the hub
    #: in the credentials' hub_party_id): second to the party's own feed.
    HUB = "hub"
    #: Third-party data with no OCPI party of its own: the least authoritative, matched to
    #: other sources' chargers by place when it carries no EVSE ids.
    AGGREGATOR = "aggregator"


#: Feed kinds in their order of authority for static data, the most authoritative first.
AUTHORITY_ORDER = (FeedKind.CPO, FeedKind.HUB, FeedKind.AGGREGATOR)


class MatchKind(StrEnum):
    """How a source's location was found to be the same charger as the published one
    (location_sources.match)."""

    #: The same country_code, party_id and location id.
    KEY = "key"
    #: The same eMI3 EVSE id (normalized) on one of its EVSEs.
    EVSE_ID = "evse_id"
    #: Close coordinates and the same address or EVSE count: low confidence, until an
    #: administrator confirms it (or splits it off).
    NEARBY = "nearby"


class ObjectKind(StrEnum):
    """What a finding is about (findings.object_type): an OCPI object NAP harvests, or the
    page, feed or push request that went wrong as a whole. Not a state that changes, but a
    closed set all the same."""

    #: A Location (pulled or pushed); its findings carry its OCPI id.
    LOCATION = "location"
    #: One EVSE of a location; its findings carry "location id/EVSE uid".
    EVSE = "evse"
    #: One connector of an EVSE.
    CONNECTOR = "connector"
    #: A Tariff (pulled or pushed).
    TARIFF = "tariff"
    #: A response page as a whole (not an OCPI envelope, paged without a Link header).
    PAGE = "page"
    #: The feed as a whole: a harvest that failed.
    FEED = "feed"
    #: A push request NAP refused as a whole.
    PUSH = "push"


#: The kinds of object a harvest pulls, module by module.
HARVESTED_KINDS = (ObjectKind.LOCATION, ObjectKind.TARIFF)


class UserRole(StrEnum):
    """What a portal user may do (users.role); set when the user is made, never changed."""

    #: Sees and manages the feeds it (or its organisation) owns; sign-up and invitations
    #: make CPOs.
    CPO = "cpo"
    #: Sees every feed, approves, suspends and decides claims; made by `nap users add --admin`.
    ADMIN = "admin"


#: Every state column the database checks: (table, column, allowed values). tables.py
#: declares the constraints; migration 0012 adds these five, and a column checked later
#: comes with its own migration.
CHECKED_COLUMNS: tuple[tuple[str, str, type[StrEnum]], ...] = (
    ("feeds", "status", FeedStatus),
    ("feeds", "kind", FeedKind),
    ("location_sources", "match", MatchKind),
    ("harvest_runs", "status", RunStatus),
    ("feed_parties", "state", ClaimState),
    ("feed_parties", "source", ClaimSource),
    ("findings", "object_type", ObjectKind),
    ("users", "role", UserRole),
)


def check_name(table: str, column: str) -> str:
    """The name of the constraint (PostgreSQL) or the triggers' stem (SQLite) on a column."""
    return f"ck_{table}_{column}"


def check_sql(column: str, values: type[StrEnum]) -> str:
    """The CHECK condition that admits exactly the enum's values (and NULL, as any CHECK)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"
