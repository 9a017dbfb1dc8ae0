"""Party claims: who may publish under a country_code/party_id pair.

A national access point vouches that what it serves under `DE*ABC` comes from the
operator DE/ABC. A feed therefore only *claims* the pairs its registration form, its
credentials or an administrator name; an administrator verifies a claim after looking at
the evidence (`evidence`), and only under a verified claim are objects stored, pulled or
pushed. Claims never block each other: any number of feeds may claim one pair, and at most
one claim per pair is verified (the database enforces it).

    claimed --verify--> verified --revoke--> revoked --claim--> claimed
       |                    |
       +------revoke--------+          move: the verified claim passes to another feed

Every step is a feed event, the admins' audit trail and what the CPO sees.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nap.store.feed_events import record_event
from nap.store.states import ClaimSource, ClaimState, FeedKind
from nap.store.tables import Feed, FeedParty, HarvestRun, Location, LocationSource, Tariff
from nap.store.writer import drop_feed_sources

CLAIMED, VERIFIED, REVOKED = ClaimState.CLAIMED, ClaimState.VERIFIED, ClaimState.REVOKED
SOURCES = tuple(ClaimSource)


class PartyError(ValueError):
    pass


def party_pair(country_code: str, party_id: str) -> tuple[str, str]:
    """The (COUNTRY, PARTY) key in its one spelling, or PartyError when it cannot be one."""
    country_code, party_id = (country_code or "").strip().upper(), (party_id or "").strip().upper()
    if len(country_code) != 2 or not country_code.isalpha() or not 1 <= len(party_id) <= 3 \
            or not party_id.isalnum() or not party_id.isascii():
        raise PartyError(f"not a country_code/party_id pair: {country_code}/{party_id}")
    return country_code, party_id


def _label(claim: FeedParty) -> str:
    return f"{claim.country_code}/{claim.party_id}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def claim_of(session: Session, feed_id: int, country_code: str, party_id: str) -> FeedParty | None:
    return session.scalar(select(FeedParty).where(
        FeedParty.feed_id == feed_id, FeedParty.country_code == country_code, FeedParty.party_id == party_id))


def verified_claim(session: Session, country_code: str, party_id: str) -> FeedParty | None:
    """The party's own verified claim (not a hub's or an aggregator's carried one)."""
    return session.scalar(select(FeedParty).where(
        FeedParty.country_code == country_code, FeedParty.party_id == party_id, FeedParty.state == VERIFIED,
        FeedParty.carried.is_(False)))


def _carries(feed: Feed) -> bool:
    """A hub's or an aggregator's claims carry other parties' data beside their own feeds."""
    return feed.feed_kind != FeedKind.CPO


def claim(session: Session, feed: Feed, country_code: str, party_id: str, *, source: str,
          business_details: dict | None = None, user_id: int | None = None) -> FeedParty:
    """The feed claims the pair (again, after a revocation). A claim that exists keeps its
    state; `business_details` (from the CPO's credentials) replace what was kept."""
    if source not in SOURCES:
        raise ValueError(f"unknown claim source {source!r}")
    country_code, party_id = party_pair(country_code, party_id)
    existing = claim_of(session, feed.id, country_code, party_id)
    if existing is None:
        existing = FeedParty(feed_id=feed.id, country_code=country_code, party_id=party_id, state=CLAIMED,
                             source=source, claimed_at=_now(), carried=_carries(feed))
        session.add(existing)
        session.flush()
        record_event(session, feed.id, "party_claimed", f"claims {_label(existing)} ({_SOURCE_TEXT[source]})",
                     user_id=user_id)
    elif existing.state == REVOKED:
        existing.state, existing.source, existing.claimed_at = CLAIMED, source, _now()
        existing.carried = _carries(feed)
        existing.decided_at = existing.decided_by = None
        record_event(session, feed.id, "party_claimed",
                     f"claims {_label(existing)} again ({_SOURCE_TEXT[source]})", user_id=user_id)
    if isinstance(business_details, dict):
        existing.business_details = business_details
    session.flush()
    return existing


_SOURCE_TEXT = {ClaimSource.FORM: "named in the registration form",
                ClaimSource.CREDENTIALS: "named in the CPO's OCPI credentials",
                ClaimSource.ADMIN: "named by an administrator"}


def verify(session: Session, feed: Feed, country_code: str, party_id: str, *, user_id: int | None,
           note: str = "") -> FeedParty:
    """The feed may publish under the pair from now on. Refused when another feed holds it
    verified: that is a move (`move`), a decision of its own. Objects other feeds stored
    under the pair (before claims were checked) leave the publication: the verified
    operator's own copies replace them at its next harvest or push."""
    country_code, party_id = party_pair(country_code, party_id)
    holder = verified_claim(session, country_code, party_id)
    if holder is not None and holder.feed_id != feed.id and not _carries(feed):
        other = session.get(Feed, holder.feed_id)
        raise PartyError(f"{country_code}/{party_id} is verified for feed {other.name!r}: move it instead")
    target = claim_of(session, feed.id, country_code, party_id) or claim(
        session, feed, country_code, party_id, source=ClaimSource.ADMIN, user_id=user_id)
    if target.state == VERIFIED:
        return target
    target.carried = _carries(feed)
    target.state, target.decided_at, target.decided_by = VERIFIED, _now(), user_id
    # What the feed served under the pair so far was refused: an incremental pull would not
    # serve it again, so the next harvest is a full one.
    feed.last_full_sync_at = None
    try:
        session.flush()
    except IntegrityError as error:  # another administrator verified another claim meanwhile
        raise PartyError(f"{country_code}/{party_id} was verified for another feed meanwhile: reload") from error
    unpublished = _unpublish(session, country_code, party_id, other_than_feed=feed.id)
    tail = f"; {unpublished} objects other feeds had stored under it unpublished" if unpublished else ""
    record_event(session, feed.id, "party_verified",
                 f"{_label(target)} verified{_by(session, user_id)}{_reason(note)}{tail}", ok=True, user_id=user_id)
    return target


def revoke(session: Session, feed: Feed, country_code: str, party_id: str, *, user_id: int | None,
           reason: str = "") -> FeedParty:
    """The claim ends. Were it verified, what the feed published under the pair leaves the
    publication (kept in the history, as anything removed)."""
    country_code, party_id = party_pair(country_code, party_id)
    target = claim_of(session, feed.id, country_code, party_id)
    if target is None or target.state == REVOKED:
        raise PartyError(f"feed {feed.name!r} has no claim on {country_code}/{party_id} to revoke")
    was_verified = target.state == VERIFIED
    target.state, target.decided_at, target.decided_by = REVOKED, _now(), user_id
    session.flush()
    unpublished = 0
    if was_verified:
        # Where other sources describe the same charger, they stay published without this one.
        unpublished = drop_feed_sources(session, feed.id, _now(), (country_code, party_id))
        unpublished += _unpublish(session, country_code, party_id, feed_id=feed.id)
    tail = f"; {unpublished} objects unpublished" if unpublished else ""
    record_event(session, feed.id, "party_revoked",
                 f"claim on {_label(target)} revoked{_by(session, user_id)}{_reason(reason)}{tail}",
                 ok=False, user_id=user_id)
    return target


def move(session: Session, country_code: str, party_id: str, to_feed: Feed, *, user_id: int | None,
         reason: str = "") -> FeedParty:
    """The verified pair passes to another feed (a CPO changed back-end provider, say). Its
    published objects pass too, and stay published: the new feed's next full harvest
    updates them or marks what it no longer serves as removed."""
    country_code, party_id = party_pair(country_code, party_id)
    holder = verified_claim(session, country_code, party_id)
    if holder is None:
        raise PartyError(f"{country_code}/{party_id} is verified for no feed: verify the claim instead")
    if holder.feed_id == to_feed.id:
        return holder
    from_feed = session.get(Feed, holder.feed_id)
    holder.state, holder.decided_at, holder.decided_by = REVOKED, _now(), user_id
    session.flush()
    target = claim_of(session, to_feed.id, country_code, party_id) or claim(
        session, to_feed, country_code, party_id, source=ClaimSource.ADMIN, user_id=user_id)
    target.state, target.decided_at, target.decided_by = VERIFIED, _now(), user_id
    to_feed.last_full_sync_at = None  # as in verify: the next harvest pulls everything
    if holder.business_details and not target.business_details:
        target.business_details = holder.business_details
    session.flush()
    for table in (Location, Tariff, LocationSource):
        session.execute(update(table).where(table.feed_id == from_feed.id, table.country_code == country_code,
                                            table.party_id == party_id).values(feed_id=to_feed.id))
    message = (f"{country_code}/{party_id} moved from feed {from_feed.name!r} to feed {to_feed.name!r}"
               f"{_by(session, user_id)}{_reason(reason)}")
    for feed_id in (from_feed.id, to_feed.id):
        record_event(session, feed_id, "party_moved", message, ok=True, user_id=user_id)
    return target


def set_kind(session: Session, feed: Feed, kind: str, *, user_id: int | None = None) -> None:
    """The feed is a CPO's own back end, a hub or an aggregator (FeedKind). Its claims follow:
    a hub's and an aggregator's are carried claims. Refused when the feed would become a
    CPO's own on a pair another feed already holds as its own."""
    kind = FeedKind(kind)
    if kind == feed.feed_kind:
        return
    carried = kind != FeedKind.CPO
    if not carried:
        for own in claims(session, feed.id):
            holder = verified_claim(session, own.country_code, own.party_id) if own.state == VERIFIED else None
            if holder is not None and holder.feed_id != feed.id:
                other = session.get(Feed, holder.feed_id)
                raise PartyError(f"{_label(own)} is verified for feed {other.name!r} as its own; revoke this feed's"
                                 " claim on it first")
    feed.kind = kind
    session.execute(update(FeedParty).where(FeedParty.feed_id == feed.id).values(carried=carried))
    session.flush()
    record_event(session, feed.id, "feed_kind", f"the feed is now a {kind.value} feed{_by(session, user_id)}",
                 ok=True, user_id=user_id)


def _unpublish(session: Session, country_code: str, party_id: str, *, feed_id: int | None = None,
               other_than_feed: int | None = None) -> int:
    """Mark the pair's published objects (of one feed, or of every feed but one and those
    verified on the pair beside it: the hubs the party authorised) removed."""
    now, count = _now(), 0
    sources = select(FeedParty.feed_id).where(FeedParty.country_code == country_code,
                                              FeedParty.party_id == party_id, FeedParty.state == VERIFIED)
    for table in (Location, Tariff):
        condition = [table.country_code == country_code, table.party_id == party_id, table.removed_at.is_(None)]
        if feed_id is not None:
            condition.append(table.feed_id == feed_id)
        else:
            condition += [table.feed_id != other_than_feed, table.feed_id.not_in(sources)]
        count += session.execute(update(table).where(*condition).values(removed_at=now, **table.change_stamps(now))).rowcount
    return count


def _by(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    from nap.store.tables import User
    user = session.get(User, user_id)
    return f" by {user.email}" if user is not None else ""


def _reason(text: str) -> str:
    text = " ".join((text or "").split())[:500]
    return f": {text}" if text else ""


# -- reading ----------------------------------------------------------------------------------


def verified_parties(session: Session, feed_id: int) -> set[tuple[str, str]]:
    """The pairs the feed publishes under."""
    return {tuple(row) for row in session.execute(select(FeedParty.country_code, FeedParty.party_id).where(
        FeedParty.feed_id == feed_id, FeedParty.state == VERIFIED))}


def claims(session: Session, feed_id: int, with_revoked: bool = False) -> list[FeedParty]:
    query = select(FeedParty).where(FeedParty.feed_id == feed_id)
    if not with_revoked:
        query = query.where(FeedParty.state != REVOKED)
    return list(session.scalars(query.order_by(FeedParty.country_code, FeedParty.party_id)))


@dataclass
class Evidence:
    """What an administrator compares before verifying a claim."""

    claim: FeedParty
    feed: Feed
    versions_host: str
    business_details: dict | None
    source: str | None
    # eMI3 operator ids (e.g. "DE*ABC") of the EVSE ids in what the feed served in its latest
    # completed run, with how many EVSEs carry each (skipped objects included).
    evse_operators: list[tuple[str, int]] = field(default_factory=list)
    # Every other feed's live claim on the pair: (feed name, feed status, claim state).
    other_claims: list[tuple[str, str, str]] = field(default_factory=list)


def evidence(session: Session, claim_row: FeedParty) -> Evidence:
    feed = session.get(Feed, claim_row.feed_id)
    others = session.execute(
        select(Feed.name, Feed.status, FeedParty.state).join(Feed, Feed.id == FeedParty.feed_id)
        .where(FeedParty.country_code == claim_row.country_code, FeedParty.party_id == claim_row.party_id,
               FeedParty.feed_id != claim_row.feed_id, FeedParty.state != REVOKED)
        .order_by(Feed.name)).all()
    return Evidence(claim=claim_row, feed=feed, versions_host=urlsplit(feed.versions_url).hostname or "",
                    business_details=claim_row.business_details, source=claim_row.source,
                    evse_operators=served_operators(session, feed.id), other_claims=[tuple(row) for row in others])


def served_operators(session: Session, feed_id: int) -> list[tuple[str, int]]:
    """The operator ids in the EVSE ids the feed served in its latest run that recorded
    them, most frequent first."""
    served = session.scalar(select(HarvestRun.served_parties).where(
        HarvestRun.feed_id == feed_id, HarvestRun.served_parties.is_not(None)).order_by(HarvestRun.id.desc()).limit(1))
    operators = (served or {}).get("evse_operators") or {}
    return Counter({str(k): int(v) for k, v in operators.items()}).most_common()
