"""Reliability statistics for regulators, as JSON or CSV (docs/statistics.md):

    GET /api/v1/statistics/national?period=day|week|month&from=YYYY-MM-DD&to=YYYY-MM-DD
    GET /api/v1/statistics/power-classes?period=...&from=...&to=...
    GET /api/v1/statistics/operators?from=...&to=...          (one row per operator)
    GET /api/v1/statistics/operators/{country_code}/{party_id}?period=...&from=...&to=...
    GET /api/v1/statistics/evses/{country_code}/{party_id}?day=YYYY-MM-DD (or from/to)

CSV with `format=csv` or `Accept: text/csv`; both carry the same rows and columns. The
figures are the stored seconds per EVSE and day, summed; shares are ratios of the sums.
"""
from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, Response, request
from sqlalchemy import select

from exporters.access import install_access_control
from exporters.api_errors import catch_crashes, json_error
from nap.ocpi.envelope import json_response
from nap.store.power_classes import LABELS
from nap.store.statistics_read import (
    PERIODS,
    aggregate,
    evse_figures,
    latest_day,
    operator_totals,
)
from nap.store.tables import EvseDailyStatistics
from nap.web import db_session, settings

blueprint = Blueprint("statistics_api", __name__)
install_access_control(blueprint, lambda message, http_status, _code: json_error(message, http_status))
catch_crashes(blueprint)

MAX_DAYS = 3_700  # ten years of days in one answer at most
DEFAULT_DAYS = {"day": 30, "week": 7 * 12, "month": 366}
FIGURE_COLUMNS = ("evse_days", "in_service_seconds", "operational_seconds", "occupied_seconds",
                  "out_of_order_seconds", "unknown_seconds", "not_in_service_seconds", "status_changes",
                  "operational_share", "out_of_order_share", "unknown_share", "occupied_share")
_PARTY = re.compile(r"^[A-Za-z]{2}$"), re.compile(r"^[A-Za-z0-9]{3}$")


class BadParameter(ValueError):
    pass


@dataclass(frozen=True)
class Span:
    period: str
    first: date
    last: date


def parse_day(name: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad(name, raw)
    except ValueError:
        _bad(name, raw)


def _bad(name: str, raw: str):
    raise BadParameter(f"{name} must be a date YYYY-MM-DD, not {raw[:40]!r}")


def parse_span(args, default_last: date | None) -> Span:
    """period, from and to (inclusive UTC days). Without `to`: the last day computed (else
    yesterday); without `from`: a month of days, twelve weeks or a year of months before it."""
    period = args.get("period", "day")
    if period not in PERIODS:
        raise BadParameter(f"period must be one of {', '.join(PERIODS)}, not {period[:40]!r}")
    last = parse_day("to", args.get("to")) or default_last or datetime.now(timezone.utc).date() - timedelta(days=1)
    try:
        first = parse_day("from", args.get("from")) or last - timedelta(days=DEFAULT_DAYS[period] - 1)
    except OverflowError:
        raise BadParameter(f"to ({last}) is too early: give from as well") from None
    if first > last:
        raise BadParameter(f"from ({first}) is after to ({last})")
    if (last - first).days >= MAX_DAYS:
        raise BadParameter(f"at most {MAX_DAYS} days per request; ask for fewer, or by week or month")
    return Span(period, first, last)


def parse_party(country_code: str, party_id: str) -> tuple[str, str]:
    if not (_PARTY[0].match(country_code) and _PARTY[1].match(party_id)):
        raise BadParameter("an operator is a country code of two letters and a party id of three letters or "
                           f"digits, not {country_code[:10]!r}/{party_id[:10]!r}")
    return country_code.upper(), party_id.upper()


def _wants_csv() -> bool:
    chosen = request.args.get("format")
    if chosen is not None:
        if chosen not in ("json", "csv"):
            raise BadParameter(f"format must be json or csv, not {chosen[:20]!r}")
        return chosen == "csv"
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _cell(value):
    """A CSV cell. Ids come from CPOs: one starting like a formula gets a leading quote, so
    that a spreadsheet shows it instead of running it (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _answer(meta: dict, key_columns: tuple[str, ...], rows: list[dict], name: str) -> Response:
    if not _wants_csv():
        return json_response({**meta, "rows": rows})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = (*key_columns, *FIGURE_COLUMNS)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _meta(span: Span) -> dict:
    return {"period": span.period, "from": span.first.isoformat(), "to": span.last.isoformat(),
            "silence_hours": settings().quality_status_silence_hours, "timezone": "UTC"}


def _handle_bad_parameters(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except BadParameter as error:
            return json_error(str(error), 400)

    return wrapped


def _party_known(session, country_code: str, party_id: str) -> bool:
    return session.scalar(select(EvseDailyStatistics.id).where(
        EvseDailyStatistics.country_code == country_code, EvseDailyStatistics.party_id == party_id).limit(1)) \
        is not None


@blueprint.get("/api/v1/statistics/national")
@_handle_bad_parameters
def national():
    session = db_session()
    span = parse_span(request.args, latest_day(session))
    rows = [{"period_start": start.isoformat(), **figures.as_dict()}
            for start, _key, figures in aggregate(session, span.period, span.first, span.last)]
    return _answer(_meta(span), ("period_start",), rows, f"statistics-national-{span.period}")


@blueprint.get("/api/v1/statistics/power-classes")
@_handle_bad_parameters
def power_classes():
    session = db_session()
    span = parse_span(request.args, latest_day(session))
    rows = [{"period_start": start.isoformat(), "power_class": key[0], "label": LABELS.get(key[0], key[0]),
             **figures.as_dict()}
            for start, key, figures in aggregate(session, span.period, span.first, span.last, "power_class")]
    return _answer(_meta(span), ("period_start", "power_class", "label"), rows,
                   f"statistics-power-classes-{span.period}")


@blueprint.get("/api/v1/statistics/operators")
@_handle_bad_parameters
def operators():
    session = db_session()
    span = parse_span(request.args, latest_day(session))
    rows = [{"country_code": cc, "party_id": pid, **figures.as_dict()}
            for cc, pid, figures in operator_totals(session, span.first, span.last)]
    return _answer({**_meta(span), "period": "whole span"}, ("country_code", "party_id"), rows,
                   "statistics-operators")


@blueprint.get("/api/v1/statistics/operators/<country_code>/<party_id>")
@_handle_bad_parameters
def operator(country_code: str, party_id: str):
    session = db_session()
    country_code, party_id = parse_party(country_code, party_id)
    span = parse_span(request.args, latest_day(session))
    if not _party_known(session, country_code, party_id):
        return json_error(f"no statistics for operator {country_code}/{party_id}", 404)
    rows = [{"period_start": start.isoformat(), **figures.as_dict()}
            for start, _key, figures in aggregate(session, span.period, span.first, span.last,
                                                  country_code=country_code, party_id=party_id)]
    return _answer({**_meta(span), "country_code": country_code, "party_id": party_id}, ("period_start",), rows,
                   f"statistics-{country_code}-{party_id}-{span.period}")


@blueprint.get("/api/v1/statistics/evses/<country_code>/<party_id>")
@_handle_bad_parameters
def evses(country_code: str, party_id: str):
    session = db_session()
    country_code, party_id = parse_party(country_code, party_id)
    day = parse_day("day", request.args.get("day"))
    if day is not None and ("from" in request.args or "to" in request.args):
        raise BadParameter("give either day or from/to, not both")
    span = Span("day", day, day) if day else parse_span(
        {"period": "day", **{k: v for k, v in request.args.items() if k in ("from", "to")}}, latest_day(session))
    if span.period != "day" or (span.last - span.first).days >= 366:
        raise BadParameter("per EVSE, at most 366 days per request")
    if not _party_known(session, country_code, party_id):
        return json_error(f"no statistics for operator {country_code}/{party_id}", 404)
    rows = [{"location_id": e.location_id, "evse_uid": e.evse_uid, "evse_id": e.evse_id,
             "power_class": e.power_class, **e.figures.as_dict()}
            for e in evse_figures(session, span.first, span.last, country_code, party_id)]
    meta = {**_meta(span), "period": "whole span", "country_code": country_code, "party_id": party_id}
    return _answer(meta, ("location_id", "evse_uid", "evse_id", "power_class"), rows,
                   f"statistics-evses-{country_code}-{party_id}-{span.first}-{span.last}")
