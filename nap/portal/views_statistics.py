"""Public reliability statistics pages: the national picture and one page per operator
(party), with charts drawn on the server (nap/portal/svg_charts.py). The figures are the
API's (exporters/statistics_api.py), with the same parameters; docs/statistics.md says
what they mean and what they cannot tell."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, render_template, request

from exporters.statistics_api import BadParameter, parse_party, parse_span
from nap.portal.pages import portal_blueprint
from nap.portal.svg_charts import availability_chart, distribution_chart
from nap.store.power_classes import LABELS
from nap.store.statistics_read import (
    aggregate,
    distribution,
    fold_periods,
    latest_day,
    operator_totals,
    worst_evses,
)
from nap.web import db_session, settings

blueprint = portal_blueprint("portal_statistics")


# Figures per EVSE (the spread, the worst) read one row per EVSE and day: on a public page
# they cover at most the span's last quarter year, whatever the span of the aggregates.
EVSE_DAYS_SHOWN = 92


def _span(session):
    try:
        return parse_span(request.args, latest_day(session))
    except BadParameter as error:
        abort(400, description=str(error))


def _evse_first(span) -> date:
    return max(span.first, span.last - timedelta(days=EVSE_DAYS_SHOWN - 1))


@blueprint.get("/statistics")
def national():
    session = db_session()
    span = _span(session)
    periods = aggregate(session, span.period, span.first, span.last)
    spread = distribution(session, _evse_first(span), span.last)
    return render_template(
        "portal/statistics_national.html", span=span, periods=periods, silence=settings().quality_status_silence_hours,
        chart=availability_chart([(start.isoformat(), f) for start, _k, f in periods],
                                 "National availability over time"),
        spread=distribution_chart(spread, "EVSEs by their share of time operational"),
        power_classes=[(LABELS.get(key[0], key[0]), figures) for _s, key, figures in
                       fold_periods(aggregate(session, "day", span.first, span.last, "power_class"))],
        operators=operator_totals(session, span.first, span.last), evse_count=sum(spread),
        evse_first=_evse_first(span))


@blueprint.get("/statistics/operators/<country_code>/<party_id>")
def operator(country_code: str, party_id: str):
    session = db_session()
    try:
        country_code, party_id = parse_party(country_code, party_id)
    except BadParameter as error:
        abort(400, description=str(error))
    span = _span(session)
    periods = aggregate(session, span.period, span.first, span.last, country_code=country_code, party_id=party_id)
    spread = distribution(session, _evse_first(span), span.last, country_code, party_id)
    if not periods:
        abort(404, description=f"No statistics for operator {country_code}/{party_id} in this period.")
    return render_template(
        "portal/statistics_operator.html", span=span, periods=periods, country_code=country_code,
        party_id=party_id, silence=settings().quality_status_silence_hours,
        chart=availability_chart([(start.isoformat(), f) for start, _k, f in periods],
                                 f"Availability of {country_code}/{party_id} over time"),
        spread=distribution_chart(spread, "EVSEs by their share of time operational"),
        worst=worst_evses(session, _evse_first(span), span.last, 10, country_code, party_id),
        evse_count=sum(spread), evse_first=_evse_first(span))


def feed_worst_evses(session, feed_id: int, days: int = 30, limit: int = 10):
    """A feed's least available EVSEs over the last `days` days computed, for its own page
    (all its EVSEs, published or not: the CPO sees its own data)."""
    last = latest_day(session)
    if last is None:
        return []
    return worst_evses(session, last - timedelta(days=days - 1), last, limit, published_only=False, feed_id=feed_id)
