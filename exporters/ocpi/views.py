"""The OCPI versions the publication API speaks, and how an object looks in each.

NAP stores OCPI 2.3.0; 2.3.0 is served as stored. The 2.2.1 view is a conversion of the
same objects by nap.ocpi.downgrade, the one place that knows how to convert down (no
Parking objects, no 2.3.0-only fields or enum values).
"""
from __future__ import annotations

from nap.ocpi.downgrade import to_version
from nap.ocpi.versions import STORED



def render(obj: dict, kind: str, version: str) -> dict | None:
    """`obj` (2.3.0) in `version`; None when it cannot exist there (an EVSE or connector
    whose only connector types 2.2.1 lacks, such as MCS)."""
    if version == STORED:
        return obj
    return to_version(obj, kind, version)


def render_all(objects: list[dict], kind: str, version: str) -> list[dict]:
    rendered = (render(obj, kind, version) for obj in objects)
    return [obj for obj in rendered if obj is not None]
