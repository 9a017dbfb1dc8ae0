"""Germany's AFIR DATEX II profile 01-00-00 (Mobilithek): DATEX II 3 with the AFIR
extensions, JSON encoding.

    from exporters.datex2.de_afir import write_table, write_status, table_version
    count = write_table(out, session, settings, now=now, parties=None)
    count = write_status(out, session, settings, now=now, since=None, parties=None)

The documents are the 3.7 AFIR publication's (exporters/datex2: selection, ids, versions,
tariffs, opening hours, supplements), converted element by element to the profile's JSON
as its JSON Schemas describe it (shapes.py, convert.py), completed where the profile asks
for more (completion.py), and streamed site by site (envelope.py). The table's versionG
changes with its content only, not with a status (versioning.py).
"""
from __future__ import annotations

from exporters.datex2.de_afir.status import write_status
from exporters.datex2.de_afir.table import write_table
from exporters.datex2.de_afir.versioning import table_version

PROFILE = "de-afir/01-00-00"

__all__ = ["PROFILE", "table_version", "write_status", "write_table"]
