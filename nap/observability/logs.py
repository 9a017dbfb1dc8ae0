"""JSON log lines, one object per line, with the request id of the request being served,
and no credentials: `Token ...` values are masked whatever logged them."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

_TOKEN = re.compile(r"(Token\s+|token=)[^\s&\"',]+", re.IGNORECASE)


def redact(text: str) -> str:
    return _TOKEN.sub(r"\1[redacted]", text)


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "correlation_id", "method", "path", "status", "duration_ms", "feed", "run_id")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for field in self.FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record logged while serving it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            try:
                from flask import g, has_request_context

                if has_request_context():
                    record.request_id = g.get("request_id")
            except ImportError:
                pass
        return True


def configure_logging(level: int = logging.INFO, json_lines: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep the output to what operators need.
    for noisy in ("httpx", "httpcore", "alembic", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
