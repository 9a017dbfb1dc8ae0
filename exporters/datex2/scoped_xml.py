"""XML that differs between charging points only in its ids: written once, spliced as bytes.

    template = ScopedXml.build(profile, lambda container, scope: write(container, ..., scope))
    splices.insert(parent, template, "DE*ABC*LOC1#evse:1")   # a marker in the tree
    data = splices.serialize(site)                           # the site's bytes, markers filled

A national table repeats the same few tariffs at thousands of charging points; building and
serialising their hundred-odd elements per charging point was most of an export's time.
The builder runs once with a placeholder scope and is serialised once; each use substitutes
the (escaped) scope for the placeholder in the bytes. The placeholder is random per process,
so text a CPO sent cannot contain it; if it turns up anywhere but in an attribute anyway,
the template declines and the builder runs for every scope instead.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from lxml import etree

from exporters.datex2.namespaces import Profile
from exporters.datex2.xmlbuild import Element

PLACEHOLDER = f"{{scope:{secrets.token_hex(8)}}}"
_PLACEHOLDER_BYTES = PLACEHOLDER.encode()
# A processing instruction cannot come out of a CPO's text: "<" in text is always escaped.
_MARKER = "nap-splice"
_MARKERS = re.compile(rb"<\?" + _MARKER.encode() + rb" (\d+)\?>")

Builder = Callable[[Element, str], object]


def _serialise(element: Element) -> bytes:
    return etree.tostring(element, encoding="UTF-8")


# What libxml2 escapes in a double-quoted attribute value (tested against lxml).
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;",
                                    "\n": "&#10;", "\r": "&#13;"})


def attribute_bytes(value: str) -> bytes:
    """`value` as lxml writes it inside a double-quoted attribute."""
    return value.translate(_ATTRIBUTE_ESCAPES).encode()


class ScopedXml:
    def __init__(self, parts: list[bytes] | None, builder: Builder) -> None:
        self._parts, self._builder = parts, builder

    @classmethod
    def build(cls, profile: Profile, builder: Builder) -> ScopedXml:
        # The sites' namespace map: the children serialise with the sites' prefixes and
        # declare nothing themselves, so their bytes fit into any site.
        container = etree.Element("scoped", nsmap=profile.nsmap)
        builder(container, PLACEHOLDER)
        for element in container.iter(etree.Element):
            if PLACEHOLDER in (element.text or "") or PLACEHOLDER in (element.tail or ""):
                return cls(None, builder)
        if len(container) == 0:
            return cls([b""], builder)
        data = _serialise(container)
        inner = data[data.index(b">") + 1:data.rindex(b"</scoped>")]
        return cls(inner.split(_PLACEHOLDER_BYTES), builder)

    @property
    def declined(self) -> bool:
        """The builder runs for every scope (a placeholder in text)."""
        return self._parts is None

    def render(self, scope: str) -> bytes | None:
        """The bytes for `scope`, or None when this template declined (use the builder)."""
        if self._parts is None:
            return None
        return attribute_bytes(scope).join(self._parts) if len(self._parts) > 1 else self._parts[0]

    def write(self, parent: Element, scope: str) -> None:
        self._builder(parent, scope)


class Splices:
    """Pre-serialised XML waiting for the site it belongs to. One per publication. Markers
    hold absolute positions, so pieces a failed site left cannot end up in the next one;
    `clear` before each site frees them."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def clear(self) -> None:
        self._pieces.clear()

    def insert(self, parent: Element, template: ScopedXml, scope: str) -> None:
        data = template.render(scope)
        if data is None:
            template.write(parent, scope)
            return
        parent.append(etree.ProcessingInstruction(_MARKER, str(len(self._pieces))))
        self._pieces.append(data)

    def serialize(self, element: Element) -> bytes:
        data = _serialise(element)
        if not self._pieces:
            return data
        parts = _MARKERS.split(data)  # text, index, text, index, ..., text
        pieces = self._pieces
        for position in range(1, len(parts), 2):
            parts[position] = pieces[int(parts[position])]
        self._pieces = []
        return b"".join(parts)
