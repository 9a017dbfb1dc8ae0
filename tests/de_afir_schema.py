"""Validating documents against the JSON Schemas of Germany's AFIR profile 01-00-00.

    from tests.de_afir_schema import validate_table, validate_status
    assert validate_table(document) == []      # document: the parsed JSON
    assert validate_table(representative_table(document)) == []   # a large one, fast

jsonschema validates about 100 kB a second, so a national table takes minutes. A large
document's sites repeat a few forms: representative_table/representative_status keep the
envelope and the sites that show every form at least once (every property path, JSON type,
enumeration value, and short code such as a country or currency), which is what the schema
judges; validating them tells what validating the whole would.

Each schema set is read once per test session (the validators are cached), as the profile's
README shows: jsonschema's Draft202012Validator with a referencing Registry holding every
DATEXII_3_*.json of the set. Format keywords are annotations in draft 2020-12 and are not
checked, as by the profile's own validation of its examples.
"""
from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.conftest import DATEX2_DE_AFIR_DIR

TABLE = ("schema-table", "DATEXII_3_D2Payload.json")
STATUS = ("schema-status", "DATEXII_3_MessageContainer.json")


def _read(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8-sig"))


@lru_cache(maxsize=None)
def validator(folder: str, entry: str) -> Draft202012Validator:
    directory = DATEX2_DE_AFIR_DIR / folder
    resources = [(path.name, Resource.from_contents(_read(path)))
                 for path in sorted(directory.glob("DATEXII_3_*.json"))]
    return Draft202012Validator(_read(directory / entry), registry=Registry().with_resources(resources))


def _errors(schema: tuple[str, str], document: object) -> list[str]:
    found = validator(*schema).iter_errors(document)
    return sorted(f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
                  for error in found)


def validate_table(document: object) -> list[str]:
    """The schema errors of a static publication (a `payload`), as messages; [] when valid."""
    return _errors(TABLE, document)


def _forms(value: object, path: str, found: set) -> None:
    if isinstance(value, dict):
        if value and set(value) <= {"value", "extendedValueG"} and isinstance(value.get("value"), str):
            found.add((path, "enum", value["value"], value.get("extendedValueG")))
            return
        found.add((path, "object", tuple(sorted(value))))
        for key, item in value.items():
            _forms(item, f"{path}/{key}", found)
    elif isinstance(value, list):
        found.add((path, "array", bool(value)))
        for item in value:
            _forms(item, path + "[]", found)
    elif isinstance(value, str):
        found.add((path, "string", len(value) > 1024, value if len(value) <= 3 else None))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found.add((path, type(value).__name__, value < 0))
    else:
        found.add((path, type(value).__name__))


def representative(items: list) -> list:
    """The items that show every form the others show, in their order."""
    seen: set = set()
    kept = []
    for item in items:
        forms: set = set()
        _forms(item, "", forms)
        if not forms <= seen:
            seen |= forms
            kept.append(item)
    return kept


def representative_table(document: dict) -> dict:
    """A copy of a table with its representative sites only (the envelope as it is)."""
    copy = json.loads(json.dumps(document))
    for table in copy["payload"]["aegiEnergyInfrastructureTablePublication"]["energyInfrastructureTable"]:
        table["energyInfrastructureSite"] = representative(table["energyInfrastructureSite"])
    return copy


def representative_status(document: dict) -> dict:
    """A copy of a status publication with its representative site statuses only."""
    copy = json.loads(json.dumps(document))
    for payload in copy["messageContainer"]["payload"]:
        publication = payload["aegiEnergyInfrastructureStatusPublication"]
        if "energyInfrastructureSiteStatus" in publication:
            publication["energyInfrastructureSiteStatus"] = representative(publication["energyInfrastructureSiteStatus"])
    return copy


def validate_status(document: object) -> list[str]:
    """The schema errors of a dynamic publication (a `messageContainer`); [] when valid."""
    return _errors(STATUS, document)
