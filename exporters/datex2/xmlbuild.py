"""Small lxml helpers shared by the builders."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from lxml import etree

from exporters.datex2.namespaces import COM, XSI_TYPE, q

Element = etree._Element


_SubElement = etree.SubElement


def sub(parent: Element, tag: str, text: str | None = None, attrib: dict[str, str] | None = None) -> Element:
    # The hottest function of the writer (~100 calls per site): no **kwargs, no extra objects.
    element = _SubElement(parent, tag, attrib) if attrib else _SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def typed(parent: Element, tag: str, xsi_type: str, attrib: dict[str, str] | None = None) -> Element:
    """Child of a polymorphic element: the concrete type goes in xsi:type."""
    element = _SubElement(parent, tag, attrib) if attrib else _SubElement(parent, tag)
    element.set(XSI_TYPE, xsi_type)
    return element


def multilingual(parent: Element, tag: str, values: Iterable[tuple[str | None, str]]) -> Element | None:
    """com:MultilingualString: tag/com:values/com:value[@lang].

    lang is optional in the schema and only written when the source states the language
    (OCPI DisplayText); for names and addresses OCPI does not say which language they are in.
    """
    values = [(lang, text) for lang, text in values if text]
    if not values:
        return None
    element = etree.SubElement(parent, tag)
    container = etree.SubElement(element, q(COM, "values"))
    for lang, text in values:
        value = etree.SubElement(container, q(COM, "value"))
        if lang:
            value.set("lang", lang)
        value.text = text
    return element


def single_language(parent: Element, tag: str, text: str | None) -> Element | None:
    return multilingual(parent, tag, [(None, text)] if text else [])


def url_link(parent: Element, tag: str, url: str, link_type: str | None = None) -> Element:
    """com:UrlLink: urlLinkAddress, urlLinkDescription?, urlLinkType?"""
    element = etree.SubElement(parent, tag)
    sub(element, q(COM, "urlLinkAddress"), url)
    if link_type:
        sub(element, q(COM, "urlLinkType"), link_type)
    return element


def bool_text(value: bool) -> str:
    return "true" if value else "false"


Writer = Callable[[Element], object]


class Order(tuple):
    """An xs:sequence order: the element names in schema order, plus a set for checks."""

    def __new__(cls, names: Iterable[str]) -> Order:
        order = super().__new__(cls, names)
        order.members = frozenset(order)
        return order


def write_in_order(parent: Element, order: Order, slots: dict[str, list[Writer]]) -> None:
    """Run the writers of each slot in the schema's sequence order.

    Builders fill `slots` by element name in whatever order reads best; the xs:sequence
    order (which differs between the generic and the AFIR model) lives in one table.
    """
    if not order.members.issuperset(slots):
        raise ValueError(f"no sequence position for {sorted(set(slots) - order.members)}")
    for name in order:
        writers = slots.get(name)
        if writers:
            for writer in writers:
                writer(parent)
