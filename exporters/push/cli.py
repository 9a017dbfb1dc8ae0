"""`nap subscribers ...`: push subscribers for an administrator (nap/cli.py adds the group).
Secrets come from files (or - for standard input), never from the command line, where
they would stay in the shell's history and show in the process list."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from exporters.push.documents import PROFILES
from exporters.push.kinds import SubscriptionKind


def _sessions():
    from nap.config import load_settings
    from nap.store.db import session_factory
    from nap.store.migrate import is_current

    url = load_settings().database_url
    if not is_current(url):
        raise click.ClickException("the database schema is not current: run `nap db upgrade` first")
    return session_factory(url)


def _read(file) -> str | None:
    return file.read() if file is not None else None


@click.group()
def subscribers() -> None:
    """Endpoints NAP pushes DATEX II documents to (Germany's Mobilithek takes AFIR data so)."""


@subscribers.command("add")
@click.option("--name", required=True)
@click.option("--url", required=True, help="The subscriber's HTTPS endpoint; NAP POSTs each document to it.")
@click.option("--kind", required=True, type=click.Choice([kind.value for kind in SubscriptionKind]),
              help="table: the static publication; status: snapshots and deltas of the dynamic one.")
@click.option("--profile", default=next(iter(PROFILES)), show_default=True, type=click.Choice(list(PROFILES)))
@click.option("--auth-header-name", default=None, help="A header NAP sends with each push, e.g. Authorization.")
@click.option("--auth-header-value-file", type=click.File("r"), default=None,
              help="A file (or - for standard input) holding that header's value.")
@click.option("--client-cert", type=click.File("r"), default=None, help="PEM client certificate (mutual TLS).")
@click.option("--client-key", type=click.File("r"), default=None, help="PEM key of the client certificate.")
@click.option("--ca-bundle", type=click.File("r"), default=None,
              help="PEM CAs that sign the subscriber's server certificate (default: the system's).")
@click.option("--cpo", "cpos", multiple=True, metavar="CC*PID",
              help="Only this CPO's data (repeatable); default: every CPO.")
def subscribers_add(name, url, kind, profile, auth_header_name, auth_header_value_file, client_cert, client_key,
                    ca_bundle, cpos) -> None:
    """Register a subscriber: its first delivery (the table, or a status snapshot) goes out
    at the worker's next tick."""
    from exporters.push.subscribers import NewSubscriber, SubscriberError, add_subscriber
    from nap.config import load_settings

    value = _read(auth_header_value_file)
    new = NewSubscriber(name=name, url=url, kind=kind, profile=profile, auth_header_name=auth_header_name,
                        auth_header_value=value.strip() if value else None, client_cert_pem=_read(client_cert),
                        client_key_pem=_read(client_key), ca_bundle_pem=_read(ca_bundle), parties=tuple(cpos))
    try:
        with _sessions().begin() as session:
            subscriber = add_subscriber(session, load_settings(), new, datetime.now(timezone.utc))
            subscriber_id = subscriber.id
    except SubscriberError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"subscriber {name.strip()!r} registered (id {subscriber_id})")


@subscribers.command("list")
def subscribers_list() -> None:
    """List subscribers and how their deliveries go (secrets are never shown)."""
    from exporters.push.subscribers import list_subscribers

    with _sessions()() as session:
        for s in list_subscribers(session):
            auth = [what for what, present in (("header", s.auth_header_name), ("client-cert", s.client_cert_pem))
                    if present] or ["none"]
            last = f"{s.last_success_at:%Y-%m-%d %H:%M:%S}" if s.last_success_at else "never"
            click.echo(f"{s.name}\t{s.kind}\t{s.profile}\t{'enabled' if s.enabled else 'disabled'}\t{s.url}\t"
                       f"auth={','.join(auth)}\tcpos={','.join(s.parties or []) or 'all'}\tlast success {last}\t"
                       f"failures {s.failures}")


def _set_enabled(name: str, enabled: bool) -> None:
    from exporters.push.subscribers import SubscriberError, get_subscriber, set_enabled

    try:
        with _sessions().begin() as session:
            set_enabled(get_subscriber(session, name), enabled)
    except SubscriberError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"subscriber {name!r} {'enabled' if enabled else 'disabled'}")


@subscribers.command("disable")
@click.argument("name")
def subscribers_disable(name: str) -> None:
    """Stop pushing to a subscriber (it stays registered)."""
    _set_enabled(name, False)


@subscribers.command("enable")
@click.argument("name")
def subscribers_enable(name: str) -> None:
    """Push to a disabled subscriber again, starting with a snapshot."""
    _set_enabled(name, True)


@subscribers.command("remove")
@click.argument("name")
def subscribers_remove(name: str) -> None:
    """Remove a subscriber and its delivery record."""
    from exporters.push.subscribers import SubscriberError, remove_subscriber

    try:
        with _sessions().begin() as session:
            remove_subscriber(session, name)
    except SubscriberError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"subscriber {name!r} removed")


@subscribers.command("deliveries")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def subscribers_deliveries(name: str | None, limit: int) -> None:
    """The latest deliveries, newest first (of one subscriber, or of all)."""
    from exporters.push.subscribers import SubscriberError, get_subscriber, list_subscribers, recent_deliveries

    with _sessions()() as session:
        try:
            ids = [get_subscriber(session, name).id] if name else None
        except SubscriberError as error:
            raise click.ClickException(str(error)) from None
        names = {s.id: s.name for s in list_subscribers(session)}
        click.echo("time\tsubscriber\tkind\toutcome\titems\tbytes\tlag_s\tattempt")
        for d in recent_deliveries(session, ids, limit):
            outcome = f"ok {d.http_status}" if d.ok else f"failed {d.error or d.http_status}"
            lag = f"{d.lag_seconds:.2f}" if d.lag_seconds is not None else "-"
            click.echo(f"{d.at:%Y-%m-%d %H:%M:%S}\t{names.get(d.subscriber_id, '?')}\t{d.kind}\t{outcome}\t"
                       f"{d.items}\t{d.size}\t{lag}\t{d.attempt}")
