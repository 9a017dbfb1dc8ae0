"""A DATEX II 3.7 AFIR element (aegi/afac, as exporters/datex2 builds it) -> the German
profile's JSON, class by class as the profile's schema describes it (shapes.py).

The German profile is DATEX II 3 with the AFIR extensions in the JSON encoding, so the
meaning is the 3.7 AFIR publication's and only the spelling differs:
  * attributes id/version -> idG/versionG; a targetClass loses its prefix ("afac:FacilityObject"
    -> "FacilityObject", as in the profile's examples);
  * a polymorphic element (xsi:type) -> {"<prefix><Type>": {...}}; without xsi:type, the
    class the schema names (ContactInformationG -> afacContactInformation);
  * an enumeration -> {"value": v}; "_extended" with _extendedValue -> {"value": "extendedG",
    "extendedValueG": ...}; a 3.7 value the profile's enumeration lacks -> extendedG with the
    3.7 value, so nothing is guessed and nothing lost;
  * numbers and booleans as JSON numbers and booleans; a multilingual string's values
    without a language get the publication's (the profile requires one);
  * times of day get the "Z" the profile asks for "for technical reasons" (it does not mean
    UTC: the profile's annotated example), and a date-time without offset gets the site's;
  * a few elements have another name (RENAMED); an element the profile does not have is
    left out and counted in `dropped` (docs: what the German publication cannot carry).
"""
from __future__ import annotations

from collections import Counter

import orjson
from lxml import etree

from exporters.datex2 import mapping
from exporters.datex2.memo import BoundedMemo
from exporters.datex2.de_afir.splices import PLACEHOLDER_JSON, RecordingSplices, template_elements
from exporters.datex2.namespaces import XSI_TYPE
from exporters.datex2.scoped_xml import ScopedXml

# 3.7 element name -> the profile's property name, where they differ.
RENAMED = {
    "energyProduct": "electricEnergy",             # aegi:energyProduct (xsi:type ElectricEnergy)
    "_locationExtension": "locLocationExtensionG",  # the extension point of loc:Location
    "afirFacilityLocation": "FacilityLocation",     # its AFIR content
}
# (profile enumeration, 3.7 AFIR value) -> the profile's value, where the spelling differs:
# the profile spells domestic sockets as the generic 3.7 model does ("domesticF", not
# "domesticFType"), so mapping.py's generic table gives its values.
RENAMED_VALUES = {("ConnectorTypeEnum", mapping.CONNECTOR_TYPE_AFIR[standard]): value
                  for standard, value in mapping.CONNECTOR_TYPE_GENERIC.items()
                  if mapping.CONNECTOR_TYPE_AFIR[standard] != value}
_ATTRIBUTES = {"id": "idG", "version": "versionG"}

Shape = dict  # {"poly": 0|1, "props": {property: [kind, target, array]}} (shapes.py)
_LOCAL_NAMES: dict[str, str] = {}  # Clark tag -> local name: a few hundred tags, met millions of times


def _local(tag: str) -> str:
    local = _LOCAL_NAMES.get(tag)
    if local is None:
        local = _LOCAL_NAMES[tag] = tag.rpartition("}")[2]
    return local


def _number(text: str) -> int | float:
    if "." in text:  # never an int: skip the ValueError (most rates and powers have a point)
        return float(text)
    try:
        return int(text)
    except ValueError:
        return float(text)


def json_number(value: float) -> int | float:
    """A number as the converter reads it from the 3.7 text (ocpi.xml_number): integers
    without a fraction."""
    return int(value) if value == int(value) and abs(value) < 1e15 else float(value)


def _has_offset(value: str) -> bool:
    tail = value[10:] if len(value) > 10 else ""  # past the date: its "-" are no offset
    return value.endswith("Z") or "+" in tail or "-" in tail


Entry = tuple  # (property, kind, target, array, the enumeration's values or None)


class _TagTable(dict):
    """Clark tag of a child -> (property, kind, target, array, enumeration values) in one
    class, or None for a child the profile does not have: one lookup per element instead of
    several."""

    def __init__(self, props: dict[str, list], enums: dict[str, frozenset[str]]) -> None:
        super().__init__()
        self._props, self._enums = props, enums

    def __missing__(self, tag: str) -> Entry | None:
        local = _local(tag)
        key = RENAMED.get(local, local)
        prop = self._props.get(key)
        entry = self[tag] = (None if prop is None else
                             (key, prop[0], prop[1], prop[2], self._enums.get(prop[1]) if prop[0] == "e" else None))
        return entry


class _AttributeTable(dict):
    """Attribute name -> (property, kind) in one class, or None for one the profile does not
    have; xsi:type is no property (the polymorphic key says it)."""

    def __init__(self, props: dict[str, list]) -> None:
        super().__init__()
        self._props = props

    def __missing__(self, name: str) -> tuple[str, str] | None:
        key = _ATTRIBUTES.get(name, name)
        prop = self._props.get(key)
        # "c": a targetClass, which loses its prefix
        entry = self[name] = (key, "c" if key == "targetClass" else prop[0]) if prop is not None else None
        return entry


class Converter:
    """One per publication (shape set, language). `local_offset`: the offset a date-time
    without one is read in (the site's), set per site by the caller. `splices`: those of the
    publication's tariff catalogue, whose markers stand for shared tariff XML (splices.py)."""

    # Converted templates (about 7 KB each with their objects), the oldest forgotten first
    # (forgetting all at once converted a quarter of the demo fleet's templates twice); as
    # many as the German catalogue keeps (table.TEMPLATES_KEPT), within the memory target.
    _FRAGMENTS_KEPT = 1024

    def __init__(self, shapes: dict, lang: str, splices: RecordingSplices | None = None) -> None:
        self.classes: dict[str, Shape] = shapes["classes"]
        self.enums: dict[str, frozenset[str]] = {name: frozenset(values) for name, values in shapes["enums"].items()}
        self.lang = lang
        self.local_offset = "Z"
        self.dropped: Counter[str] = Counter()    # "Class.element" the profile does not have
        self.extended: Counter[str] = Counter()   # "Enum.value" written as extendedG
        self._defaults: dict[str, str | None] = {}
        self.splices = splices
        self._fragments: BoundedMemo[list[tuple[str, bytes, int]]] = BoundedMemo(self._FRAGMENTS_KEPT)
        self._tags: dict[str, _TagTable] = {}
        self._attribute_tables: dict[str, _AttributeTable] = {}
        # (polymorphic class, xsi:type or None) -> (its key, the subtype's class), None: unknown
        self._subtypes: dict[tuple[str, str | None], tuple[str, str] | None] = {}

    # -- objects ----------------------------------------------------------------------------------

    def _children(self, class_name: str) -> dict[str, Entry | None]:
        """Clark tag -> (property, kind, target, array, enumeration values) for the children
        of a class, None for an element the profile does not have; filled as tags turn up
        (a few hundred)."""
        table = self._tags.get(class_name)
        if table is None:
            table = self._tags[class_name] = _TagTable(self.classes[class_name]["props"], self.enums)
        return table

    def convert(self, element: etree._Element, class_name: str) -> dict:
        # The hottest function of the German writer (once per element): the common kinds
        # are handled inline.
        if class_name == "MultilingualString":
            return self._multilingual(element)
        result: dict = {}
        attributes = element.items()
        if attributes:
            self._attributes(attributes, class_name, result)
        children = self._children(class_name)
        for child in element:
            tag = child.tag
            if tag.__class__ is not str:
                use = self.splices.uses.get(child) if self.splices is not None else None
                if use is not None:
                    self._splice(result, class_name, *use)
                continue  # a comment, or a processing instruction of nobody's
            entry = children[tag]
            if entry is None:
                self.dropped[f"{class_name}.{_local(tag)}"] += 1
                continue
            key, kind, target, array, values = entry
            if kind == "o":
                value = self.convert(child, target)
            elif kind == "e":
                text = child.text
                value = {"value": text} if text in values else self._enum(child, target)
            elif kind == "s":
                value = child.text or ""
            elif kind == "p":
                value = self._polymorphic(child, target)
                if value is None:
                    continue
            else:
                value = self._value(child, kind, target)
                if value is None:
                    continue
            if array:
                if key in result:
                    result[key].append(value)
                else:
                    result[key] = [value]
            else:
                result[key] = value
        return result

    def _attributes(self, attributes: list[tuple[str, str]], class_name: str, result: dict) -> None:
        table = self._attribute_tables.get(class_name)
        if table is None:
            table = self._attribute_tables[class_name] = _AttributeTable(self.classes[class_name]["props"])
        for name, raw in attributes:
            if name == XSI_TYPE:
                continue
            entry = table[name]
            if entry is None:
                self.dropped[f"{class_name}@{name}"] += 1
            elif entry[1] == "s":  # id, version: text as it is
                result[entry[0]] = raw
            elif entry[1] == "c":
                result["targetClass"] = raw.rpartition(":")[2]
            else:
                result[entry[0]] = self._scalar(entry[1], raw)

    def append_template(self, result: dict, class_name: str, template: ScopedXml, scope: str) -> None:
        """The elements a template writes for `scope`, converted into `result` (an object of
        `class_name`): once per template, or, for a template that declined, each time."""
        if not template.declined:
            self._splice(result, class_name, template, scope)
            return
        container = etree.Element("scoped")
        template.write(container, scope)
        self.convert_into(result, container, class_name)

    def convert_into(self, result: dict, container: etree._Element, class_name: str) -> None:
        """The children of `container` as properties of `result`, an object of `class_name`."""
        for key, value in self.convert(container, class_name).items():
            if isinstance(value, list):
                result.setdefault(key, []).extend(value)
            else:
                result[key] = value

    def _splice(self, result: dict, class_name: str, template, scope: str) -> None:
        """The children a splice marker stands for, as JSON converted once per template."""
        items = self._fragments.get((template, class_name, self.local_offset),
                                    lambda: self._template_items(template, class_name))
        scope_json = orjson.dumps(scope)[1:-1]
        for name, data, array in items:
            value = orjson.Fragment(data.replace(PLACEHOLDER_JSON, scope_json))
            if array:
                result.setdefault(name, []).append(value)
            else:
                result[name] = value

    def _template_items(self, template, class_name: str) -> list[tuple[str, bytes, int]]:
        """(property, its JSON with the placeholder for the scope, array) per child of a template."""
        items = []
        children = self._children(class_name)
        for child in template_elements(template):
            entry = children[child.tag]
            if entry is None:
                self.dropped[f"{class_name}.{_local(child.tag)}"] += 1
                continue
            value = self._value(child, entry[1], entry[2])
            if value is not None:
                items.append((entry[0], orjson.dumps(value), entry[3]))
        return items

    def _value(self, element: etree._Element, kind: str, target: str):
        if kind == "o":
            return self.convert(element, target)
        if kind == "p":
            return self._polymorphic(element, target)
        if kind == "e":
            return self._enum(element, target)
        if kind == "x":
            return None
        return self._scalar(kind, element.text or "")

    def _polymorphic(self, element: etree._Element, class_name: str) -> dict | None:
        xsi_type = element.get(XSI_TYPE)
        try:
            subtype = self._subtypes[class_name, xsi_type]
        except KeyError:
            subtype = self._subtypes[class_name, xsi_type] = self._subtype(class_name, xsi_type)
        if subtype is None:
            self.dropped[f"{class_name}:{xsi_type}"] += 1
            return None
        return {subtype[0]: self.convert(element, subtype[1])}

    def _subtype(self, class_name: str, xsi_type: str | None) -> tuple[str, str] | None:
        """The key and class of an element of a polymorphic class with this xsi:type."""
        key = xsi_type.replace(":", "", 1) if xsi_type else self._default(class_name)
        option = self.classes[class_name]["props"].get(key) if key else None
        return (key, option[1]) if option is not None else None

    def _default(self, class_name: str) -> str | None:
        """The subtype of a polymorphic class that an element without xsi:type has: the
        class itself (ContactInformationG -> its key of class ContactInformation)."""
        if class_name not in self._defaults:
            base = class_name[:-1]
            self._defaults[class_name] = next(
                (key for key, option in self.classes[class_name]["props"].items() if option[1] == base), None)
        return self._defaults[class_name]

    def _multilingual(self, element: etree._Element) -> dict:
        values = [{"lang": value.get("lang") or self.lang, "value": value.text or ""}
                  for container in element for value in container if isinstance(value.tag, str)]
        return {"values": values}

    # -- values -----------------------------------------------------------------------------------

    def _enum(self, element: etree._Element, enum: str) -> dict:
        return self.enum_value(enum, (element.text or "").strip(), element.get("_extendedValue"))

    def enum_value(self, enum: str, text: str, extended: str | None = None) -> dict:
        """A 3.7 AFIR value of an enumeration (with its _extendedValue) as the profile's."""
        if text == "_extended" or extended is not None:
            return {"value": "extendedG", "extendedValueG": extended or ""}
        if text in self.enums[enum]:
            return {"value": text}
        renamed = RENAMED_VALUES.get((enum, text))
        if renamed is not None:
            return {"value": renamed}
        self.extended[f"{enum}.{text}"] += 1
        return {"value": "extendedG", "extendedValueG": text}

    def _scalar(self, kind: str, text: str):
        if kind == "n":
            return _number(text)
        if kind == "i":
            return int(text)
        if kind == "b":
            return text == "true"
        if kind == "t":
            return text if ("Z" in text or "+" in text or "-" in text) else text + "Z"
        if kind == "d":
            return text if _has_offset(text) else text + self.local_offset
        return text
