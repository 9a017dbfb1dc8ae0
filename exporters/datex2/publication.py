"""The d2:payload envelope shared by the table and the status publication, streamed.

The envelope is opened with lxml's incremental writer; the caller then writes one site
(or site status) element at a time, so memory stays flat however many locations there are.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import BinaryIO

from lxml import etree

from exporters.datex2 import ocpi
from exporters.datex2.namespaces import COM, D2, XSI_TYPE, Profile, q
from exporters.datex2.selection import (PartyOperators, PublishedSite, VersionDigest, published_site,
                                        published_site_version)

log = logging.getLogger("exporters.datex2")

# Language of the publication (DATEX II requires one). Texts whose language OCPI does not
# state (names, addresses) carry no lang of their own.
PUBLICATION_LANGUAGE = "en"


def utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, like OCPI timestamps."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@contextmanager
def payload(out: BinaryIO, profile: Profile, publication_type: str, *, publication_time: datetime,
            country: str, national_identifier: str, preamble: str | None = None) -> Iterator[etree.xmlfile]:
    """Open d2:payload xsi:type="{egi|aegi}:{publication_type}" and write its header. A
    preamble (provenance and licence of a bulk file) goes in a comment before the root."""
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        if preamble:
            xf.write(etree.Comment(" " + comment_text(preamble) + " "))
        attributes = {XSI_TYPE: profile.etype(publication_type), "lang": PUBLICATION_LANGUAGE,
                      "modelBaseVersion": "3"}
        with xf.element(q(D2, "payload"), attributes, nsmap=profile.nsmap):
            with xf.element(q(COM, "publicationTime")):
                xf.write(ocpi.xml_datetime(utc(publication_time)))
            with xf.element(q(COM, "publicationCreator")):
                with xf.element(q(COM, "country")):
                    xf.write((ocpi.text(country, 2) or "").upper())
                with xf.element(q(COM, "nationalIdentifier")):
                    xf.write(ocpi.text(national_identifier) or "")
            yield xf


def comment_text(text: str) -> str:
    """`text` (which may hold what a CPO wrote: feed names, licences) made safe for an XML
    comment, reversibly: "%" and every character XML does not allow are percent-encoded
    (UTF-8), and so is each "-" that follows another, so "--" never occurs ("---" becomes
    "-%2D-"). Markup characters are harmless in a comment and stay as they are."""
    out: list[str] = []
    previous = ""
    for char in text:
        if char == "%" or (char == "-" and previous == "-") or not _xml_comment_char(char):
            char = "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        out.append(char)
        previous = char[-1]
    return "".join(out)


def _xml_comment_char(char: str) -> bool:
    code = ord(char)
    # XML 1.0 Char, less the C1 controls and DEL (allowed, but invisible and confusing).
    return (code >= 0x20 and not 0x7F <= code <= 0x9F and not 0xD800 <= code <= 0xDFFF
            and code not in (0xFFFE, 0xFFFF)) or char in "\t\n"


def _label(location: object) -> str:
    if isinstance(location, dict):
        return f"{location.get('country_code')}*{location.get('party_id')}*{location.get('id')}"
    return type(location).__name__


def write_sites(locations: Iterable[object], profile: Profile, build: Callable[[PublishedSite], etree._Element | bytes],
                kind: str, write: Callable[[etree._Element | bytes], object],
                party_operators: PartyOperators | None = None, at: datetime | None = None,
                narrow: Callable[[PublishedSite], PublishedSite] | None = None,
                versions: VersionDigest | None = None) -> int:
    """Select, build and `write` one element (or its bytes) per location, as soon as it is
    built; return the number of refill points written. A location that cannot be written
    validly is skipped with a warning: one broken location must not cost the whole
    publication. `party_operators`: see selection.with_party_operator; `at`: the
    publication time (the sites' UTC offsets, part of their versions); `narrow`: what a
    status delta keeps of each selected site (source.ChangedStatuses.narrow); `versions`:
    gets the version of every location published_site_version gives one, written or not,
    as versioning.py counts them."""
    refill_points = 0
    for location in locations:
        published = None
        try:
            published = published_site(location, profile, party_operators, at)
            if published is not None and versions is not None:
                versions.add(published.version)
            if published is not None and narrow is not None:
                published = narrow(published)
            element = build(published) if published is not None else None
        except Exception as error:  # noqa: BLE001 - anything a CPO sends, we survive
            log.warning("DATEX II %s: skipped location %s: %r", kind, _label(location), error)
            if versions is not None and published is None:
                _count_version(versions, location, party_operators, at)
            continue
        if element is None:
            log.warning("DATEX II %s: skipped location %s (not a Location, or no id or coordinates)", kind,
                        _label(location))
            continue
        write(element)
        refill_points += len(published.evses)
    return refill_points


def _count_version(versions: VersionDigest, location: object, party_operators: PartyOperators | None,
                   at: datetime | None) -> None:
    try:
        version = published_site_version(location, party_operators, at)
    except Exception:  # noqa: BLE001 - versioning.py counts it as no site too
        return
    if version is not None:
        versions.add(version)


def writer_into(xf: etree.xmlfile, out: BinaryIO) -> Callable[[etree._Element | bytes], None]:
    """A `write` for write_sites into an open payload: elements through xf, bytes (sites
    serialised already) straight to `out`, the file under xf, after what xf holds."""
    def write(element: etree._Element | bytes) -> None:
        if isinstance(element, bytes):
            xf.flush()
            out.write(element)
        else:
            xf.write(element)
    return write
