"""What the profile's JSON Schemas say about each class, in the form the converter reads.

The DATEX II JSON encoding differs from the XML one in ways only the schema can tell: which
properties are arrays, which values are enumerations wrapped as {"value": ...}, which keys
name a polymorphic subtype ("aegiElectricChargingPoint" for xsi:type
aegi:ElectricChargingPoint), which are numbers or booleans rather than text. The schemas
themselves are not part of NAP (they live with the reference specs), so `build` reduces them
to plain data, kept in `shapes.json` and loaded here; tests/test_datex2_de_afir.py checks that
the two agree, and

    python -m exporters.datex2.de_afir.shapes <folder of the profile>

writes `shapes.json` again from the profile's `schema-table/` and `schema-status/`.

A shape set: {"classes": {name: {"poly": 0|1, "props": {property: [kind, target, array]}}},
"enums": {name: [values]}}. Kinds: "o" object of class `target`, "p" polymorphic (class
`target` lists the subtypes, one key each), "e" enumeration `target`, "s" text, "t" time of
day, "d" date-time, "n" number, "i" integer, "b" boolean, "x" free extension (left out).
"""
from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

SCHEMA_SETS = {"table": ("schema-table", "DATEXII_3_D2Payload.json"),
               "status": ("schema-status", "DATEXII_3_MessageContainer.json")}


def _definitions(folder: Path) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for name in sorted(os.listdir(folder)):
        if not name.startswith("DATEXII_3_"):
            continue
        schema = json.loads((folder / name).read_text(encoding="utf-8-sig"))
        for key, definition in schema.get("definitions", {}).items():
            if key in found and found[key] != definition:
                raise ValueError(f"{folder}: two different definitions named {key}")
            found[key] = definition
    return found


def _target(reference: str) -> str:
    return reference.rsplit("/", 1)[1]


def _scalar(name: str, definition: dict, definitions: dict[str, dict]) -> str | None:
    """The kind of a definition that is (a chain of references to) a plain JSON value."""
    while "$ref" in definition and "properties" not in definition:
        name = _target(definition["$ref"])
        if name == "Time":
            return "t"
        if name == "DateTime":
            return "d"
        definition = definitions[name]
    kind = definition.get("type")
    return {"string": "s", "number": "n", "integer": "i", "boolean": "b"}.get(kind) if kind != "object" else None


def _is_poly(name: str, definition: dict) -> bool:
    """A "...G" class whose properties are its subtypes, one key each (xsi:type in XML)."""
    props = definition.get("properties", {})
    return (name.endswith("G") and not name.endswith(("EnumG", "ExtensionTypeG")) and name != "PayloadPublicationG"
            and "targetClass" not in props and "idG" not in props and bool(props))


def _property(schema: dict, definitions: dict[str, dict]) -> list:
    array = schema.get("type") == "array"
    item = schema["items"] if array else schema
    if "$ref" not in item:
        return [_scalar("", item, definitions) or "x", "", int(array)]
    name = _target(item["$ref"])
    definition = definitions[name]
    if name.endswith("EnumG"):
        return ["e", _target(definition["properties"]["value"]["$ref"]), int(array)]
    if "properties" in definition:
        return ["p" if _is_poly(name, definition) else "o", name, int(array)]
    if definition.get("additionalProperties") is True:
        return ["x", name, int(array)]
    scalar = "t" if name == "Time" else "d" if name == "DateTime" else _scalar(name, definition, definitions)
    return [scalar or "x", name, int(array)]


def build(folder: Path) -> dict:
    definitions = _definitions(folder)
    classes, enums = {}, {}
    for name, definition in definitions.items():
        if "enum" in definition:
            enums[name] = list(definition["enum"])
        elif "properties" in definition and not name.endswith("EnumG"):
            classes[name] = {"poly": int(_is_poly(name, definition)),
                             "props": {prop: _property(schema, definitions)
                                       for prop, schema in definition["properties"].items()}}
    return {"classes": classes, "enums": enums}


def build_all(profile_folder: Path) -> dict:
    return {kind: build(profile_folder / folder) for kind, (folder, _) in SCHEMA_SETS.items()}


# JSON rather than a Python literal: compiling a 120 KB literal from source (no .pyc, as
# with PYTHONDONTWRITEBYTECODE) raised every exporting process's peak RSS by 50 MB.
_DATA = Path(__file__).with_name("shapes.json")


def data_text(shapes: dict) -> str:
    return json.dumps(shapes, indent=1, sort_keys=True) + "\n"


@functools.lru_cache(maxsize=1)
def load() -> dict:
    return json.loads(_DATA.read_text(encoding="utf-8"))


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    _DATA.write_text(data_text(build_all(Path(sys.argv[1]))), encoding="utf-8")
    print(f"wrote {_DATA}")
