"""Registered consumers of the publication API: their tokens and who a request comes from.

Reading needs no token (AFIR: the data is free). A consumer token buys a higher rate limit
and lets a consumer see the publish=false locations whose `publish_allowed_to` lists one of
the OCPI PublishTokenType identities registered for it. Only a SHA-256 of each token is
stored, so a stolen database does not reveal usable tokens.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.ocpi.schemas import PublishTokenType, validation_problems
from nap.store.tables import Consumer
from nap.tokens import new_token, token_hash, tokens_in_header

PUBLISH_TOKEN_FIELDS = ("uid", "type", "visual_number", "issuer", "group_id")


class UnknownToken(Exception):
    """An Authorization header was sent, but its token belongs to no consumer."""


class ConsumerError(ValueError):
    pass


@dataclass(frozen=True)
class Audience:
    """Who is asking. Anonymous readers have no consumer id and hold no publish tokens."""

    consumer_id: int | None = None
    name: str | None = None
    rate_limit_per_minute: int | None = None
    publish_tokens: tuple[dict, ...] = field(default_factory=tuple)
    # When the consumer (and so its publish tokens) came to be: what it may see changed then.
    since: datetime | None = None

    @property
    def anonymous(self) -> bool:
        return self.consumer_id is None


ANONYMOUS = Audience()


def audience_for(session: Session, authorization: str | None) -> Audience:
    """The audience of a request: anonymous without an Authorization header, the consumer
    with a known token, UnknownToken otherwise (a typo should not silently cost a consumer
    its rate limit and private locations)."""
    if not authorization:
        return ANONYMOUS
    # `Token <base64 of the token>` as OCPI 2.2+ sends it, or the plain token (2.1.1, curl).
    hashes = [token_hash(candidate) for candidate in tokens_in_header(authorization)]
    consumer = session.scalars(select(Consumer).where(Consumer.token_hash.in_(hashes))).first() if hashes else None
    if consumer is None:
        raise UnknownToken("the Authorization header carries no known consumer token")
    return Audience(
        consumer_id=consumer.id,
        name=consumer.name,
        rate_limit_per_minute=consumer.rate_limit_per_minute,
        publish_tokens=tuple(consumer.publish_tokens or ()),
        since=consumer.created_at,
    )


def parse_publish_token(text: str) -> dict:
    """`uid=12345678,type=RFID` -> a PublishTokenType object, checked against the rules of
    mod_locations (at least uid, visual_number or group_id; type with uid; issuer with
    visual_number)."""
    values: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in PUBLISH_TOKEN_FIELDS or not value:
            raise ConsumerError(f"{part.strip()!r}: expected key=value, key one of {', '.join(PUBLISH_TOKEN_FIELDS)}")
        values[key] = value
    try:
        token = PublishTokenType.model_validate(values).to_json()
    except ValidationError as error:
        problem = validation_problems(error)[0]
        raise ConsumerError(f"{text!r}: {'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None
    if not any(token.get(key) for key in ("uid", "visual_number", "group_id")):
        raise ConsumerError(f"{text!r}: set at least one of uid, visual_number, group_id")
    if token.get("uid") and not token.get("type"):
        raise ConsumerError(f"{text!r}: a uid needs its type")
    if token.get("visual_number") and not token.get("issuer"):
        raise ConsumerError(f"{text!r}: a visual_number needs its issuer")
    return token


def add_consumer(session: Session, name: str, rate_limit_per_minute: int | None = None,
                 publish_tokens: list[dict] | None = None) -> tuple[Consumer, str]:
    """Register a consumer; returns it and its token, which exists nowhere else afterwards."""
    if not name.strip():
        raise ConsumerError("a consumer needs a name")
    if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
        raise ConsumerError("the rate limit is a number of requests per minute, at least 1")
    if session.scalar(select(Consumer.id).where(Consumer.name == name)) is not None:
        raise ConsumerError(f"a consumer named {name!r} exists already")
    token = new_token()
    consumer = Consumer(name=name, token_hash=token_hash(token), rate_limit_per_minute=rate_limit_per_minute,
                        publish_tokens=list(publish_tokens or []), created_at=datetime.now(timezone.utc))
    session.add(consumer)
    session.flush()
    return consumer, token


def remove_consumer(session: Session, name: str) -> None:
    consumer = session.scalars(select(Consumer).where(Consumer.name == name)).one_or_none()
    if consumer is None:
        raise ConsumerError(f"no consumer named {name!r}")
    session.delete(consumer)
