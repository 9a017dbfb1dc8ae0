"""What the portal's admin page on push subscribers shows and does (the route is in
nap/portal/views_admin.py): the page never sees a secret, only whether one is set."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from exporters.push.subscribers import (
    NewSubscriber,
    SubscriberError,
    add_subscriber,
    list_subscribers,
    recent_deliveries,
    set_enabled,
)
from nap.config import Settings
from nap.store.tables import PushSubscriber

DELIVERIES_SHOWN = 10


def subscribers_page(session: Session) -> dict:
    subscribers = list_subscribers(session)
    deliveries = {s.id: recent_deliveries(session, [s.id], DELIVERIES_SHOWN) for s in subscribers}
    return {"subscribers": subscribers, "deliveries": deliveries}


def add_from_form(session: Session, settings: Settings, form, now: datetime) -> str | None:
    """Add the subscriber the form describes; the error to show, or None when added."""
    new = NewSubscriber(
        name=form.get("name", ""), url=form.get("url", ""), kind=form.get("kind", ""),
        profile=form.get("profile", "de-afir/01-00-00"), auth_header_name=form.get("auth_header_name"),
        auth_header_value=form.get("auth_header_value"), client_cert_pem=form.get("client_cert_pem"),
        client_key_pem=form.get("client_key_pem"), ca_bundle_pem=form.get("ca_bundle_pem"),
        parties=(form.get("cpos", ""),))
    try:
        add_subscriber(session, settings, new, now)
        session.commit()
    except SubscriberError as error:
        session.rollback()
        return str(error)
    return None


def switch(session: Session, subscriber_id: int, enabled: bool) -> bool:
    subscriber = session.get(PushSubscriber, subscriber_id)
    if subscriber is None:
        return False
    set_enabled(subscriber, enabled)
    session.commit()
    return True
