"""The `nap` command line."""
from __future__ import annotations

import logging
import sys

import click

from nap.config import SettingsError, load_settings
from nap.store.db import session_factory
from nap.store.states import COMPLETED_RUN_STATUSES, ClaimState, FeedStatus, RunStatus, UserRole


def _sessions():
    return session_factory(load_settings().database_url)


def _echo(message: str) -> None:
    """Print a line; if the reader has gone (`| head -1`), carry on without output: the
    command still does the rest of its work (a handshake after a registration)."""
    try:
        click.echo(message)
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # later output, and the flush at exit, go nowhere
        os.close(devnull)


def _require_current_schema() -> None:
    from nap.store.migrate import is_current

    if not is_current(load_settings().database_url):
        raise click.ClickException("the database schema is not current: run `nap db upgrade` first")


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """NAP: National Access Point for EV charging data."""
    from nap.observability.logs import configure_logging

    try:
        log_format = load_settings().log_format
    except SettingsError as error:  # every command needs the settings: say which one is wrong, once
        raise click.ClickException(str(error)) from None
    # JSON lines for machines (NAP_LOG_FORMAT=json, the default for serve and worker under
    # systemd); plain text is easier on a terminal.
    json_lines = (log_format or ("text" if sys.stderr.isatty() else "json")) == "json"
    configure_logging(logging.DEBUG if verbose else logging.INFO, json_lines)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from nap.store.migrate import upgrade

    upgrade(load_settings().database_url)
    click.echo("database schema is current")


@main.group()
def feeds() -> None:
    """Registered CPO feeds."""


@feeds.command("add")
@click.option("--name", required=True)
@click.option("--versions-url", required=True,
              help="The CPO's OCPI versions endpoint (one version's details, or its Locations list, are taken too; "
                   "a Locations list has no tariffs).")
@click.option("--token", required=True, help="The token the CPO issued to NAP.")
@click.option("--interval", "interval_minutes", default=None, type=int, help="Minutes between harvests.")
@click.option("--licence", default=None, help="Licence the CPO publishes its data under.")
@click.option("--country-code", default=None, help="The CPO's country code (with --party-id: its party).")
@click.option("--party-id", default=None, help="The CPO's party id (with --country-code: its party).")
@click.option("--party", "parties", multiple=True, metavar="CC:PID",
              help="Another country_code:party_id pair the feed may publish (repeatable).")
@click.option("--handshake", is_flag=True,
              help="The token is a TOKEN_A: run the OCPI credentials handshake to get TOKEN_C.")
@click.option("--kind", default="cpo", show_default=True, type=click.Choice(["cpo", "hub", "aggregator"]),
              help="A party's own back end, a roaming hub, or third-party data (docs/merge-rules.md).")
def feeds_add(name, versions_url, token, interval_minutes, licence, country_code, party_id, parties,
              handshake, kind) -> None:
    """Register a feed; prints the token the CPO uses to push to NAP (static-token mode)
    or runs the credentials handshake (--handshake). The parties named here are verified
    at once (an administrator runs this command); the feed publishes under no other."""
    from nap.feeds import FeedError, add_feed, issue_push_token

    _require_current_schema()
    settings = load_settings()
    try:
        pairs = tuple(tuple(p.split(":", 1)) for p in parties)
        if any(len(p) != 2 for p in pairs):
            raise FeedError("--party takes COUNTRY_CODE:PARTY_ID, e.g. DE:ABC")
        # Committed before anything is printed: output that went away (`| head -1`) must
        # not roll back the registration it announces.
        with _sessions().begin() as session:
            feed = add_feed(session, name=name, versions_url=versions_url, token=token,
                            interval_minutes=interval_minutes or settings.default_harvest_interval_minutes,
                            licence=licence, country_code=country_code, party_id=party_id, parties=pairs,
                            kind=kind)
            push_token = None if handshake else issue_push_token(session, feed)
            feed_name, feed_id = feed.name, feed.id
    except FeedError as error:
        raise click.ClickException(str(error)) from None
    _echo(f"feed {feed_name!r} registered (id {feed_id})")
    if not pairs and not (country_code and party_id):
        _echo("no party named: nothing is published until one is verified (nap parties verify NAME CC/PID)")
    if push_token:
        _echo(f"push token (shown once; the CPO sends it to NAP's receiver endpoints): {push_token}")
    if handshake:
        _run_handshake(name)


def _run_handshake(name: str) -> None:
    from harvesters.credentials import handshake

    result = handshake(_sessions(), load_settings(), name)
    if not result.ok:
        raise click.ClickException(result.message)
    click.echo(result.message)


@feeds.command("kind")
@click.argument("feed_name")
@click.argument("kind", type=click.Choice(["cpo", "hub", "aggregator"]))
def feeds_kind(feed_name: str, kind: str) -> None:
    """Say whose back end FEED_NAME is: a party's own (cpo), a roaming hub, or an aggregator.
    Where sources describe one charger, this decides whose data counts first."""
    from nap.feeds import get_feed
    from nap.parties import set_kind

    _party_action(lambda session: (set_kind(session, get_feed(session, feed_name), kind),
                                   f"feed {feed_name!r} is a {kind} feed")[1])


@feeds.command("register")
@click.argument("name")
def feeds_register(name: str) -> None:
    """Run the OCPI credentials handshake (POST, or PUT to re-register)."""
    _require_current_schema()
    _run_handshake(name)


@feeds.command("unregister")
@click.argument("name")
def feeds_unregister(name: str) -> None:
    """Unregister from the CPO (credentials DELETE)."""
    from harvesters.credentials import unregister

    _require_current_schema()
    result = unregister(_sessions(), load_settings(), name)
    if not result.ok:
        raise click.ClickException(result.message)
    click.echo(result.message)


@feeds.command("push-token")
@click.argument("name")
def feeds_push_token(name: str) -> None:
    """Issue a new push token for a feed (the old one stops working)."""
    from nap.feeds import FeedError, get_feed, issue_push_token

    _require_current_schema()
    try:
        with _sessions().begin() as session:
            token = issue_push_token(session, get_feed(session, name))
    except FeedError as error:
        raise click.ClickException(str(error)) from None
    click.echo(token)


@feeds.command("request-harvest")
@click.argument("name")
def feeds_request_harvest(name: str) -> None:
    """Ask the worker to harvest a feed at its next tick (`nap harvest` runs one here)."""
    from nap.feeds import FeedError, get_feed, request_harvest

    _require_current_schema()
    try:
        with _sessions().begin() as session:
            requested_at = request_harvest(session, get_feed(session, name))
    except FeedError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"harvest of {name} requested at {requested_at:%Y-%m-%d %H:%M:%S} UTC; the worker runs it at its next tick")


@feeds.command("list")
def feeds_list() -> None:
    """List feeds."""
    from sqlalchemy import select

    from nap.store.tables import Feed

    _require_current_schema()
    with _sessions()() as session:
        for feed in session.scalars(select(Feed).order_by(Feed.name)):
            click.echo(f"{feed.name}\t{feed.status}\t{feed.ocpi_version or '-'}\t{feed.versions_url}")


@feeds.command("show")
@click.argument("name")
def feeds_show(name: str) -> None:
    """Show a feed and its recent harvest runs."""
    from nap.feeds import FeedError, get_feed, recent_runs

    _require_current_schema()
    with _sessions()() as session:
        try:
            feed = get_feed(session, name)
        except FeedError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"feed:          {feed.name}\nkind:          {feed.feed_kind.value}\nstatus:        {feed.status}"
                   f"\nversions URL:  {feed.versions_url}")
        click.echo(f"OCPI version:  {feed.ocpi_version or '-'}\ninterval:      {feed.interval_minutes} min")
        click.echo(f"licence:       {feed.licence or '-'}")
        from datetime import datetime, timedelta, timezone

        from nap.feeds import party_labels
        from nap.store.status_history import push_freshness

        parties = ", ".join(party_labels(session, feed.id)) or "-"
        click.echo(f"parties:       {parties}")
        lag = push_freshness(session, feed.id, datetime.now(timezone.utc) - timedelta(hours=24))
        if lag.samples:
            click.echo(f"push lag 24h:  p50 {lag.p50_seconds:.1f} s, p95 {lag.p95_seconds:.1f} s over {lag.samples} "
                       f"status changes (AFIR: dynamic data within 60 s)\n")
        else:
            click.echo("push lag 24h:  no pushed status changes\n")
        click.echo("run  started               status   version pages objects new changed unchanged removed findings bytes    seconds error")
        for run in recent_runs(session, feed.id):
            seconds = f"{(run.finished_at - run.started_at).total_seconds():.1f}" if run.finished_at else "-"
            click.echo(
                f"{run.id:<4} {run.started_at:%Y-%m-%d %H:%M:%S}   {run.status:<8} {run.ocpi_version or '-':<7} "
                f"{run.pages:<5} {run.objects_received:<7} {run.objects_new:<3} {run.objects_changed:<7} "
                f"{run.objects_unchanged:<9} {run.objects_removed:<7} {run.findings:<8} {run.bytes:<8} {seconds:<7} "
                f"{run.error or ''}"
            )
        _echo_latest_run(session, feed.id)


def _echo_latest_run(session, feed_id: int) -> None:
    """The latest finished run: what became of the units served, and the top reasons of its
    errors and of its repairs (warnings)."""
    from nap.store.run_report import latest_run_report

    report = latest_run_report(session, feed_id)
    if report is None:
        click.echo("\nno finished harvest run yet")
        return
    run = report.run
    click.echo(f"\nlatest finished run #{run.id} ({run.started_at:%Y-%m-%d %H:%M:%S}): {run.status}")
    if report.units:
        share = load_settings().harvest_degraded_evse_share
        click.echo(f"{'':<11} {'served':>8} {'stored':>8} {'repaired':>8} {'skipped':>8}")
        for row in report.units:
            skipped = f" ({100 * row.skipped_share:.1f} %)" if row.skipped_share else ""
            click.echo(f"{row.unit:<11} {row.served:>8} {row.stored:>8} {row.repaired:>8} {row.skipped:>8}{skipped}")
        if run.status == RunStatus.DEGRADED:
            click.echo(f"degraded: more than {100 * share:g} % of the EVSEs served were skipped "
                       "(NAP_HARVEST_DEGRADED_EVSE_SHARE); the rest was stored")
    for title, groups, total in (("errors (skipped)", report.errors, report.error_count),
                                 ("repairs (warnings)", report.repairs, report.repair_count)):
        click.echo(f"\ntop reasons, {title}: {total} findings" + ("" if groups else ", none"))
        for group in groups:
            example = group.example_object_id or "-"
            click.echo(f"{group.count:>7}  {group.field or '-'}: {group.reason}  (e.g. {example}"
                       + (f": {group.example_reason})" if group.shows_values else ")"))


@main.group()
def parties() -> None:
    """Party claims: which feed may publish under which country_code/party_id."""


def _party_action(action, *args, **kwargs) -> None:
    from nap.feeds import FeedError
    from nap.parties import PartyError

    _require_current_schema()
    try:
        with _sessions().begin() as session:
            result = action(session, *args, **kwargs)
    except (FeedError, PartyError) as error:
        raise click.ClickException(str(error)) from None
    _echo(result)


def _split_pair(pair: str) -> tuple[str, str]:
    country_code, _, party_id = pair.replace(":", "/").partition("/")
    return country_code, party_id


@parties.command("list")
@click.option("--feed", "feed_name", default=None, help="Only this feed's claims.")
def parties_list(feed_name: str | None) -> None:
    """Every live claim: pair, feed, state, where it came from."""
    from sqlalchemy import select

    from nap.store.tables import Feed, FeedParty

    _require_current_schema()
    with _sessions()() as session:
        query = (select(FeedParty.country_code, FeedParty.party_id, Feed.name, FeedParty.state, FeedParty.source)
                 .join(Feed, Feed.id == FeedParty.feed_id).where(FeedParty.state != ClaimState.REVOKED)
                 .order_by(FeedParty.country_code, FeedParty.party_id, Feed.name))
        if feed_name:
            query = query.where(Feed.name == feed_name)
        for country_code, party_id, name, state, source in session.execute(query):
            click.echo(f"{country_code}/{party_id}\t{name}\t{state}\t{source or '-'}")


@parties.command("verify")
@click.argument("feed_name")
@click.argument("pair", metavar="CC/PID")
def parties_verify(feed_name: str, pair: str) -> None:
    """Let FEED_NAME publish under CC/PID (claimed by it, or named here)."""
    from nap.feeds import get_feed
    from nap.parties import verify

    _party_action(lambda session: (verify(session, get_feed(session, feed_name), *_split_pair(pair), user_id=None),
                                   f"{pair} verified for feed {feed_name!r}")[1])


@parties.command("revoke")
@click.argument("feed_name")
@click.argument("pair", metavar="CC/PID")
@click.option("--reason", default="", help="Why (the CPO sees it).")
def parties_revoke(feed_name: str, pair: str, reason: str) -> None:
    """End FEED_NAME's claim on CC/PID; what it published under it leaves the publication."""
    from nap.feeds import get_feed
    from nap.parties import revoke

    _party_action(lambda session: (revoke(session, get_feed(session, feed_name), *_split_pair(pair), user_id=None,
                                          reason=reason), f"claim of feed {feed_name!r} on {pair} revoked")[1])


@parties.command("move")
@click.argument("pair", metavar="CC/PID")
@click.option("--to", "feed_name", required=True, help="The feed that publishes under the pair from now on.")
@click.option("--reason", default="", help="Why (both feeds' CPOs see it).")
def parties_move(pair: str, feed_name: str, reason: str) -> None:
    """Move a verified pair, and its published objects, to another feed."""
    from nap.feeds import get_feed
    from nap.parties import move

    _party_action(lambda session: (move(session, *_split_pair(pair), get_feed(session, feed_name), user_id=None,
                                        reason=reason), f"{pair} moved to feed {feed_name!r}")[1])


@main.group()
def matches() -> None:
    """Low-confidence matches: an aggregator's location merged with another source's by place."""


@matches.command("list")
def matches_list() -> None:
    """Every match waiting for a decision: id, the aggregator's location, the published one, why."""
    from nap.store.matches import pending_matches

    _require_current_schema()
    with _sessions()() as session:
        for match in pending_matches(session):
            click.echo(f"{match.candidate_id}\t{match.feed_name}\t{match.source_key}\t{match.location_key}"
                       f"\t{match.note or ''}")


@matches.command("confirm")
@click.argument("match_id", type=int)
def matches_confirm(match_id: int) -> None:
    """The aggregator's location is the same site: keep it merged."""
    _match_action(match_id, split=False)


@matches.command("split")
@click.argument("match_id", type=int)
def matches_split(match_id: int) -> None:
    """The aggregator's location is another site: publish it on its own."""
    _match_action(match_id, split=True)


def _match_action(match_id: int, split: bool) -> None:
    from datetime import datetime, timezone

    from nap.store.matches import MatchError, confirm_match, split_match

    _require_current_schema()
    try:
        with _sessions().begin() as session:
            message = split_match(session, match_id, datetime.now(timezone.utc)) if split else \
                confirm_match(session, match_id)
    except MatchError as error:
        raise click.ClickException(str(error)) from None
    _echo(message)


@main.group()
def supplements() -> None:
    """What CPOs supply that OCPI cannot carry (docs/supplement.md)."""


@supplements.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def supplements_import(path: str) -> None:
    """Import a supplement CSV file: every row, or none (each error names its row and column)."""
    from nap.supplements import CsvImportError, SupplementError, import_csv

    _require_current_schema()
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        with _sessions().begin() as session:
            result = import_csv(session, data)
    except CsvImportError as error:
        for line in error.lines():
            click.echo(line, err=True)
        raise click.ClickException(f"{path}: {error}") from None
    except SupplementError as error:  # another import or a portal user changed a supplement meanwhile
        raise click.ClickException(f"{path}: {error}; nothing was imported") from None
    _echo(f"{path}: {result.rows} rows, {result.versions} new versions, {result.unchanged} unchanged")


@main.group()
def consumers() -> None:
    """Registered consumers of the publication API (reading needs no registration)."""


@consumers.command("add")
@click.option("--name", required=True)
@click.option("--rate-limit", type=int, default=None,
              help="Requests per minute (default: NAP_API_CONSUMER_RATE_LIMIT_PER_MINUTE).")
@click.option("--publish-token", "publish_tokens", multiple=True, metavar="uid=...,type=...",
              help="An OCPI PublishTokenType the consumer holds (fields uid, type, visual_number, issuer, "
                   "group_id); it sees publish=false locations that list it. Repeatable.")
def consumers_add(name: str, rate_limit: int | None, publish_tokens: tuple[str, ...]) -> None:
    """Register a consumer and print its token (shown only this once)."""
    from exporters.consumers import ConsumerError, add_consumer, parse_publish_token

    _require_current_schema()
    try:
        tokens = [parse_publish_token(text) for text in publish_tokens]
        with _sessions().begin() as session:
            consumer, token = add_consumer(session, name.strip(), rate_limit, tokens)
            consumer_id = consumer.id
    except ConsumerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"consumer {name.strip()!r} registered (id {consumer_id}). Its token, shown only now:\n{token}")


@consumers.command("list")
def consumers_list() -> None:
    """List consumers (tokens are stored only as hashes and cannot be shown)."""
    from sqlalchemy import select

    from nap.store.tables import Consumer

    _require_current_schema()
    with _sessions()() as session:
        for consumer in session.scalars(select(Consumer).order_by(Consumer.name)):
            click.echo(f"{consumer.name}\t{consumer.rate_limit_per_minute or 'default'}/min\t"
                       f"{len(consumer.publish_tokens or [])} publish tokens\t{consumer.created_at:%Y-%m-%d}")


@consumers.command("remove")
@click.argument("name")
def consumers_remove(name: str) -> None:
    """Remove a consumer: its token stops working at once."""
    from exporters.consumers import ConsumerError, remove_consumer

    _require_current_schema()
    try:
        with _sessions().begin() as session:
            remove_consumer(session, name)
    except ConsumerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"consumer {name!r} removed")


@main.command()
@click.argument("name", required=False)
def harvest(name: str | None) -> None:
    """Harvest one feed now (or every active feed)."""
    from sqlalchemy import select

    from harvesters.harvest import Harvester
    from nap.store.tables import Feed

    _require_current_schema()
    sessions = _sessions()
    if name:
        names = [name]
    else:
        with sessions() as session:
            names = list(session.scalars(select(Feed.name).where(Feed.status == FeedStatus.ACTIVE).order_by(Feed.name)))
    from nap.progress import Progress

    failed = False
    for feed_name in names:
        try:
            with Progress(feed_name) as progress:
                run = Harvester(sessions, load_settings(), progress=progress.update).harvest(feed_name)
        except LookupError as error:
            raise click.ClickException(str(error)) from None
        if run is None:
            click.echo(f"{feed_name}: another process is harvesting it right now; skipped")
        elif run.status in COMPLETED_RUN_STATUSES:
            click.echo(f"{feed_name}: OCPI {run.ocpi_version}, {run.pages} pages, {run.objects_received} objects "
                       f"({run.objects_new} new, {run.objects_changed} changed, {run.objects_unchanged} unchanged, "
                       f"{run.objects_removed} removed), {run.findings} findings")
            if run.status == RunStatus.DEGRADED:
                evses = (run.unit_counts or {}).get("evses") or {}
                click.echo(f"{feed_name}: DEGRADED: {evses.get('skipped', 0)} of {evses.get('served', 0)} EVSEs served "
                           f"were skipped; `nap feeds show {feed_name}` gives the reasons", err=True)
        else:
            failed = True
            click.echo(f"{feed_name}: FAILED: {run.error}", err=True)
    if failed:
        sys.exit(1)


@main.command()
@click.option("--tick", default=30, show_default=True, help="Seconds between checks for due feeds.")
def worker(tick: int) -> None:
    """Harvest feeds on their schedule until stopped."""
    from nap.worker import run_worker

    _require_current_schema()
    run_worker(_sessions(), load_settings(), tick_seconds=tick)


@main.command()
@click.option("--host", default=None, help="Listen on this address (default: that of NAP_BIND).")
@click.option("--port", default=None, type=int, help="Listen on this port (default: that of NAP_BIND).")
@click.option("--workers", default=None, type=int, help="Worker processes (default: NAP_WORKERS).")
@click.option("--config", "config", default=None, type=click.Path(exists=True, dir_okay=False),
              help="The gunicorn configuration (default: the checkout's deploy/gunicorn.conf.py).")
def serve(host: str | None, port: int | None, workers: int | None, config: str | None) -> None:
    """Serve the public API and exports with gunicorn, configured by deploy/gunicorn.conf.py."""
    from pathlib import Path

    from nap.server import DEFAULT_CONFIG, serve_with_gunicorn

    if config is None and not DEFAULT_CONFIG.is_file():
        raise click.ClickException(f"no gunicorn configuration at {DEFAULT_CONFIG} (NAP installed, not run from "
                                   "its checkout): pass --config with the path of deploy/gunicorn.conf.py")
    _require_current_schema()
    serve_with_gunicorn(host, port, workers, Path(config) if config else DEFAULT_CONFIG)


@main.command()
@click.option("--out", "out_dir", default=None, help="Directory for the dated snapshot (default NAP_EXPORT_DIR).")
def export(out_dir: str | None) -> None:
    """Write today's bulk snapshot (DATEX II both profiles, AFIR CSV, SHA-256 sums)."""
    from datetime import datetime, timezone
    from pathlib import Path

    from exporters.bulk import export_snapshot
    from nap.progress import Progress

    _require_current_schema()
    settings = load_settings()
    with Progress("export") as progress:
        snapshot = export_snapshot(_sessions(), settings, Path(out_dir or settings.export_dir),
                                   datetime.now(timezone.utc), progress=progress.update)
    click.echo(f"snapshot written to {snapshot.directory}")
    for exported in snapshot.files:
        click.echo(f"  {exported.sha256}  {exported.size:>10}  {exported.name}")


@main.command()
@click.option("--day", "days", multiple=True, type=click.DateTime(["%Y-%m-%d"]),
              help="A UTC day (YYYY-MM-DD) to archive; repeatable. Default: every complete day not archived yet.")
@click.option("--rebuild", is_flag=True, help="Rewrite the given days (or every day still held) even if archived.")
def archive(days, rebuild: bool) -> None:
    """Archive the EVSE status history as daily Parquet files (NAP_EXPORT_DIR/archive/)."""
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from exporters.archive import archive_day, archived_days, may_rebuild, missing_days

    _require_current_schema()
    settings, now = load_settings(), datetime.now(timezone.utc)
    export_dir, sessions = Path(settings.export_dir), _sessions()
    wanted = sorted({d.date() for d in days})
    if not wanted:
        wanted = missing_days(sessions, export_dir, now.date())
        if rebuild:
            recent = now.date() - timedelta(days=settings.status_history_days)
            wanted = sorted(set(wanted) | {d for d in archived_days(export_dir) if d > recent})
    elif not rebuild:
        wanted = [d for d in wanted if d not in archived_days(export_dir)]
    refused = [d.isoformat() for d in wanted if d in archived_days(export_dir) and
               not may_rebuild(d, now, settings.status_history_days)]
    if refused:
        raise click.ClickException(f"not rebuilt, their rows may have been pruned since: {', '.join(refused)}")
    for day in wanted:
        written = archive_day(sessions, export_dir, day)
        click.echo(f"  {written.sha256}  {written.size:>10}  {written.rows:>8} rows  {written.path}")
    if not wanted:
        click.echo("nothing to archive")


@main.group()
def statistics() -> None:
    """Reliability statistics from the EVSE status history (docs/statistics.md)."""


@statistics.command("compute")
@click.option("--day", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The UTC day YYYY-MM-DD to compute, or to recompute (its figures are replaced).")
def statistics_compute(day) -> None:
    """Compute one day's figures per EVSE (the daily job does yesterday's by itself)."""
    from datetime import timedelta

    from nap.store.db import write_session
    from nap.store.evse_statistics import compute_day

    _require_current_schema()
    silence = timedelta(hours=load_settings().quality_status_silence_hours)
    with write_session(_sessions()) as session:
        evses = compute_day(session, day.date(), silence)
    click.echo(f"statistics of {day.date().isoformat()}: {evses} EVSE(s)")


def _add_subscribers() -> None:
    # `nap subscribers ...`: push subscribers of the DATEX II documents (exporters/push/cli.py).
    from exporters.push.cli import subscribers

    main.add_command(subscribers)


_add_subscribers()


@main.group()
def tokens() -> None:
    """Outbound CPO tokens, encrypted at rest."""


@tokens.command("rotate")
def tokens_rotate() -> None:
    """Re-encrypt every stored secret (CPO tokens, push subscribers' auth headers and keys)
    with the first key of NAP_TOKEN_KEYS, so that the old keys can go."""
    from sqlalchemy import text

    from exporters.push.subscribers import rotate_secrets
    from nap.store.secrets import rotate

    _require_current_schema()
    with _sessions().begin() as session:
        # Read the stored (encrypted) text itself, not the decrypted attribute.
        rows = session.execute(text("SELECT id, token FROM feeds")).all()
        for feed_id, stored in rows:
            session.execute(text("UPDATE feeds SET token = :token WHERE id = :id"),
                            {"token": rotate(stored), "id": feed_id})
        subscriber_secrets = rotate_secrets(session)
    click.echo(f"re-encrypted {len(rows)} token(s) and {subscriber_secrets} push subscriber secret(s)")


@main.group()
def users() -> None:
    """People who sign in to the portal."""


@users.command("add")
@click.option("--email", required=True, help="The user's e-mail address (their sign-in name).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (it never appears in the process list or shell history).")
@click.option("--admin", is_flag=True, help="An administrator of the access point (else a CPO).")
def users_add(email: str, password_stdin: bool, admin: bool) -> None:
    """Create a portal user, e.g. the first admin: echo "$PW" | nap users add --email a@b.c --password-stdin --admin"""
    from nap.portal.users import UserError, create_user

    if not password_stdin:
        raise click.ClickException("give the password on standard input with --password-stdin")
    _require_current_schema()
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with _sessions().begin() as session:
            user = create_user(session, email, password, role=UserRole.ADMIN if admin else UserRole.CPO)
            added = f"user {user.email} added ({user.role})"
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(added)  # after the commit


@users.command("invite")
@click.option("--email", required=True, help="The colleague's e-mail address.")
@click.option("--by", "inviter_email", required=True, help="The CPO user whose feeds the colleague will share.")
def users_invite(email: str, inviter_email: str) -> None:
    """Mail a colleague of a CPO user an invitation (24 hours) to choose a password and share
    that user's feeds, as the portal's Colleagues page does."""
    from sqlalchemy import select

    from nap.portal.invitations import invite
    from nap.portal.mail import MailError
    from nap.portal.users import UserError, normalize_email
    from nap.store.tables import User

    _require_current_schema()
    try:
        with _sessions()() as session:
            inviter = session.scalar(select(User).where(User.email == normalize_email(inviter_email)))
            if inviter is None or inviter.role != UserRole.CPO:
                raise click.ClickException(f"no CPO user {inviter_email}")
            sent = invite(session, load_settings(), inviter, email)
    except (UserError, MailError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"invitation mailed to {email.strip().lower()}" if sent
               else f"{email.strip().lower()} was invited less than a minute ago; nothing sent")


def run() -> None:
    """Console entry point: database trouble becomes one clear line, not a traceback."""
    from sqlalchemy.exc import OperationalError, StatementError

    from nap.store.secrets import TokenKeyError

    try:
        main()
    except TokenKeyError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    except StatementError as error:  # OperationalError is one too
        if isinstance(error.orig, TokenKeyError):  # raised while binding or reading a token
            click.echo(f"Error: {error.orig}", err=True)
            sys.exit(1)
        if not isinstance(error, OperationalError):
            raise
        click.echo(f"Error: cannot use the database {load_settings().database_url.split('@')[-1]!r}: "
                   f"{error.orig or error}".splitlines()[0], err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
