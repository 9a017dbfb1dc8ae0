"""The OpenAPI description of the statistics endpoints (exporters/statistics_api.py), added
to the document by exporters/openapi.py."""
from __future__ import annotations

from exporters.openapi import _error_responses, _header, _path_parameter
from exporters.statistics_api import FIGURE_COLUMNS, MAX_DAYS

TAG = {"name": "Statistics", "description": "Reliability of charging points from the status history: the share "
                                            "of time operational, out of order and unknown, per day, week or "
                                            "month (docs/statistics.md). JSON, or CSV with format=csv."}

_SHARE = "A ratio of the second sums; null when the divisor is 0."
_FIGURES = {
    "evse_days": {"type": "integer", "description": "EVSE-days in service summed (one per EVSE and day)."},
    "in_service_seconds": {"type": "integer", "description": "operational + out of order + unknown seconds."},
    "operational_seconds": {"type": "integer", "description": "AVAILABLE, CHARGING, BLOCKED or RESERVED."},
    "occupied_seconds": {"type": "integer", "description": "CHARGING or BLOCKED (part of operational)."},
    "out_of_order_seconds": {"type": "integer", "description": "OUTOFORDER or INOPERATIVE."},
    "unknown_seconds": {"type": "integer", "description": "UNKNOWN, or no news for longer than silence_hours."},
    "not_in_service_seconds": {"type": "integer", "description": "PLANNED, REMOVED or not yet seen; in no share."},
    "status_changes": {"type": "integer"},
    "operational_share": {"type": ["number", "null"], "description": "operational / in service. " + _SHARE},
    "out_of_order_share": {"type": ["number", "null"], "description": "out of order / in service. " + _SHARE},
    "unknown_share": {"type": ["number", "null"], "description": "unknown / in service. " + _SHARE},
    "occupied_share": {"type": ["number", "null"], "description": "occupied / operational. " + _SHARE},
}
assert tuple(_FIGURES) == FIGURE_COLUMNS  # the CSV columns and the described ones are the same


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SPAN = [
    _query("period", "Sum per day, ISO week (from Monday) or calendar month.",
           {"type": "string", "enum": ["day", "week", "month"], "default": "day"}),
    _query("from", "First UTC day (inclusive). Default: 30 days, 12 weeks or a year before `to`.",
           {"type": "string", "format": "date"}),
    _query("to", f"Last UTC day (inclusive). Default: the last day computed. At most {MAX_DAYS} days.",
           {"type": "string", "format": "date"}),
]
FORMAT = _query("format", "csv for CSV (or send Accept: text/csv); json by default.",
                {"type": "string", "enum": ["json", "csv"]})
OWNER = [_path_parameter("country_code", "Country code of the operator (party)."),
         _path_parameter("party_id", "Party id of the operator.")]


def _answer(keys: dict) -> dict:
    row = {"type": "object", "properties": {**keys, **_FIGURES}}
    return {"type": "object", "properties": {
        "period": {"type": "string"}, "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"}, "timezone": {"const": "UTC"},
        "silence_hours": {"type": "integer", "description": "No news for longer than this counts as unknown."},
        "rows": {"type": "array", "items": row}}}


def _operation(summary: str, description: str, parameters: list, keys: dict, not_found: str | None = None) -> dict:
    responses = _error_responses(False, not_found)
    del responses["304"]  # no validators on these answers
    return {"get": {
        "tags": [TAG["name"]], "summary": summary, "description": description,
        "parameters": parameters + [FORMAT], "security": [{}, {"consumerToken": []}],
        "responses": {"200": {"description": "OK", "headers": {
            "X-RateLimit-Limit": _header("Requests per minute allowed to this client.", "integer")},
            "content": {"application/json": {"schema": _answer(keys)},
                        "text/csv": {"schema": {"type": "string", "description": "The rows, one per line, with "
                                                                                  "a header line."}}}},
            **responses}}}


def statistics_paths() -> dict:
    start = {"period_start": {"type": "string", "format": "date"}}
    party = {"country_code": {"type": "string"}, "party_id": {"type": "string"}}
    unknown = "No statistics for this operator."
    return {
        "/api/v1/statistics/national": _operation(
            "National reliability", "All EVSEs per period.", SPAN, start),
        "/api/v1/statistics/power-classes": _operation(
            "Reliability per power class", "Per period and AFIR power class (by the EVSE's maximum power).", SPAN,
            {**start, "power_class": {"type": "string"}, "label": {"type": "string"}}),
        "/api/v1/statistics/operators": _operation(
            "Reliability per operator", "One row per operator (party) over the whole span.", SPAN[1:], party),
        "/api/v1/statistics/operators/{country_code}/{party_id}": _operation(
            "One operator's reliability", "The operator's EVSEs per period.", OWNER + SPAN, start, unknown),
        "/api/v1/statistics/evses/{country_code}/{party_id}": _operation(
            "Reliability per EVSE", "Each EVSE of the operator's published locations, summed over one day "
            "(`day`) or a span (`from`, `to`, at most 366 days).",
            OWNER + [_query("day", "One UTC day.", {"type": "string", "format": "date"})] + SPAN[1:],
            {"location_id": {"type": "string"}, "evse_uid": {"type": "string"},
             "evse_id": {"type": ["string", "null"]}, "power_class": {"type": "string"}}, unknown),
    }
