"""The admins' view of party claims: every live claim grouped by its country/party
pair, each with the evidence to judge it, so that feeds claiming one pair stand side by
side, and which decisions each claim allows."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.parties import CLAIMED, REVOKED, VERIFIED, Evidence, evidence
from nap.store.states import FeedStatus
from nap.store.tables import FeedParty

# Feeds that publish nothing any more: a claim of theirs cannot be verified.
CLOSED_FEED_STATUSES = frozenset({FeedStatus.REJECTED, FeedStatus.WITHDRAWN})


@dataclass
class ClaimCard:
    evidence: Evidence
    # The pair's eMI3 operator id ("DE*ABC"), and whether the feed served EVSE ids under it.
    operator_id: str
    serves_operator_id: bool
    can_verify: bool  # nobody holds the pair verified as its own, or a hub's or aggregator's carried claim
    can_move: bool  # another feed holds it verified as its own: the pair may pass to this one
    can_revoke: bool


@dataclass
class PairBoard:
    country_code: str
    party_id: str
    cards: list[ClaimCard] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"pair-{self.country_code}-{self.party_id}"

    @property
    def label(self) -> str:
        return f"{self.country_code}/{self.party_id}"

    @property
    def undecided(self) -> bool:
        return any(card.evidence.claim.state == CLAIMED for card in self.cards)

    @property
    def contested(self) -> bool:
        return len(self.cards) > 1


def claims_board(session: Session, feed_ids: list[int]) -> list[PairBoard]:
    """Every pair a feed of `feed_ids` claims, with all live claims on it (of any feed:
    a rival claim matters even when its feed is filtered out). Pairs awaiting a decision
    come first."""
    if not feed_ids:
        return []
    pairs = session.execute(select(FeedParty.country_code, FeedParty.party_id).where(
        FeedParty.feed_id.in_(feed_ids), FeedParty.state != REVOKED).distinct()).all()
    boards = []
    for country_code, party_id in pairs:
        rows = list(session.scalars(select(FeedParty).where(
            FeedParty.country_code == country_code, FeedParty.party_id == party_id, FeedParty.state != REVOKED)
            .order_by(FeedParty.claimed_at, FeedParty.id)))
        # The feed that holds the pair as the party's own; carried claims (hubs, aggregators)
        # are verified beside it and never move it.
        holder = next((row.feed_id for row in rows if row.state == VERIFIED and not row.carried), None)
        board = PairBoard(country_code, party_id)
        for row in rows:
            proof = evidence(session, row)
            operator_id = f"{country_code}*{party_id}"
            open_feed = proof.feed.status not in CLOSED_FEED_STATUSES
            board.cards.append(ClaimCard(
                evidence=proof, operator_id=operator_id,
                serves_operator_id=any(op.upper() == operator_id for op, _ in proof.evse_operators),
                can_verify=open_feed and row.state == CLAIMED and (holder is None or row.carried),
                can_move=open_feed and row.state == CLAIMED and not row.carried and holder is not None
                and holder != row.feed_id,
                can_revoke=row.state in (CLAIMED, VERIFIED)))
        boards.append(board)
    boards.sort(key=lambda b: (not b.undecided, b.country_code, b.party_id))
    return boards
