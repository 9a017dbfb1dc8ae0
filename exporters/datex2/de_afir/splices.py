"""The shared tariff XML of the 3.7 builders (scoped_xml.py), converted to JSON once.

Thousands of charging points share a few energy products and rate updates, which the 3.7
builders write once and splice in as bytes, the charging point's id put in place of a
placeholder. The German writer keeps that saving: `RecordingSplices` remembers which
template and scope each splice marker stands for, and the converter turns a template into
JSON once (per class and local offset), then puts each charging point's id into its bytes
and hands them to orjson as they are (orjson.Fragment).
"""
from __future__ import annotations

from lxml import etree

from exporters.datex2.namespaces import AFIR
from exporters.datex2.scoped_xml import PLACEHOLDER, ScopedXml, Splices
from exporters.datex2.xmlbuild import Element

PLACEHOLDER_JSON = PLACEHOLDER.encode()  # nothing in it that JSON escapes
_EMPTY = etree.tostring(etree.Element("scoped", nsmap=AFIR.nsmap))
# "<scoped xmlns:...>": the sites' namespace declarations, which the templates' bytes use.
WRAPPER_OPEN, WRAPPER_CLOSE = _EMPTY[:-2] + b">", b"</scoped>"


class RecordingSplices(Splices):
    """Splices that also remember, per marker left in the tree, its template and scope."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[etree._ProcessingInstruction, tuple[ScopedXml, str]] = {}

    def clear(self) -> None:
        super().clear()
        self.uses.clear()

    def insert(self, parent: Element, template: ScopedXml, scope: str) -> None:
        children = len(parent)
        super().insert(parent, template, scope)
        if len(parent) > children and not isinstance(parent[-1].tag, str):
            # A marker, not the elements themselves (a template that declined writes those).
            self.uses[parent[-1]] = (template, scope)


def template_elements(template: ScopedXml) -> list[Element]:
    """The elements of a template, with the placeholder where the scope goes."""
    data = template.render(PLACEHOLDER) or b""
    return [child for child in etree.fromstring(WRAPPER_OPEN + data + WRAPPER_CLOSE) if isinstance(child.tag, str)]
