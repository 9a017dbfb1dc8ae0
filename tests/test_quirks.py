"""Real-world quirks, by class: what says that the normalizer repairs them.

Valid objects (OCPI spec examples, the demo fleet in 2.3.0, 2.2.1 and 2.1.1, real feeds'
locations that normalize today) are damaged with the classes of tests/quirks.py, each alone
and in seeded combinations of 2-4, and normalized with their own OCPI version.

Recoverable damage: NAP keeps at least 99% of the EVSEs (and of their connectors, and of
the tariffs); every object that changed gets a warning finding it did not get undamaged
(real feeds' objects have warnings of their own); what is stored validates against the
2.3.0 schemas; and the kept locations publish as DATEX II valid against the real XSD
(table and status, generic and AFIR profiles), a charging point for every EVSE kept.
Where a repair has one right answer, the stored object is the clean object's normalization.

Unrecoverable damage loses only the smallest broken part (the EVSE, or the object), with an
error finding that names the problem; the other EVSEs and the other objects of the page are
kept. A hypothesis property adds arbitrary mutations: stored and valid, or error findings;
never an exception, and the rest of the page is kept. NormalizedObject.counts must agree
with what went in and what came out.

Failure messages name the class, what was kept and examples (source, damage, findings).
"""
from __future__ import annotations

import copy
import functools
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from harvesters.normalize import NormalizedObject
from harvesters.ocpi_client import Page
from harvesters.pages import normalize_page
from exporters.datex2.status import write_status
from exporters.datex2.table import write_table
from nap.ocpi.schemas import Location, Tariff
from tests import quirks
from tests.quirks import RECOVERABLE, UNRECOVERABLE, Source
from tests.test_datex2 import PROFILES, assert_valid, render
from tests.test_fuzz_normalizer import _paths, _replace_at, json_values

SEED = 20261205
KEEP_AT_LEAST = 0.99
LOCATIONS_PER_GROUP = {"real": 4}  # other groups: 2 locations each
DEFAULT_LOCATIONS_PER_GROUP = 2
TARIFFS_PER_GROUP = 1
MIN_LOCATIONS = 12  # per class, at least (where that many objects can have it)
COMBINATIONS = 120
EXAMPLES_SHOWN = 3


# --- samples ---------------------------------------------------------------------------------

@dataclass
class Case:
    source: Source
    classes: tuple[str, ...]
    damaged: dict  # as sent to the normalizer (normalize_object works on a copy)
    descriptions: list[str]
    result: NormalizedObject
    # EVSEs (and their connectors) in the damaged input whose damage is recoverable
    evses_recoverable: int = 0
    connectors_recoverable: int = 0
    raised: str | None = None  # normalize_object raised this (it must not)

    @property
    def kept(self) -> int:
        return len(self.result.data.get("evses") or []) if self.result.ok else 0

    @property
    def connectors_kept(self) -> int:
        evses = self.result.data.get("evses") or [] if self.result.ok else []
        return sum(len(evse.get("connectors") or []) for evse in evses)

    @property
    def what_happened(self) -> str:
        if self.raised:
            return f"normalize_object raised {self.raised}"
        return f"errors {self.findings('error')}"

    @property
    def changed(self) -> bool:
        return self.damaged != self.source.obj

    def label(self) -> str:
        return f"{self.source.name} [{self.source.version}]: {' | '.join(self.descriptions)}"

    def findings(self, severity: str, limit: int = 4) -> str:
        chosen = [f for f in self.result.findings if f.severity == severity]
        text = "; ".join(f"{f.field}: {f.reason}"[:160] for f in chosen[:limit])
        return f"[{text}{'; ...' if len(chosen) > limit else ''}]"


def _groups(kind: str) -> dict[str, list[Source]]:
    groups: dict[str, list[Source]] = {}
    for source in quirks.sources():
        if source.kind == kind:
            groups.setdefault(source.group, []).append(source)
    return groups


def _make_case(source: Source, classes: tuple[str, ...], rng: random.Random) -> Case | None:
    damaged, descriptions = quirks.damage(source.obj, classes, rng)
    if not descriptions:
        return None
    raised = None
    try:
        result = source.normalize(damaged)  # normalize_object works on a copy
    except Exception as error:  # noqa: BLE001 - reported by every test that looks at the case
        raised = f"{type(error).__name__}: {str(error)[:200]}"
        result = NormalizedObject(source.kind, None, damaged, None)
    case = Case(source, classes, damaged, descriptions, result, raised=raised)
    if source.kind == "location":
        recoverable = [e for e in damaged.get("evses") or [] if not quirks.evse_is_unrecoverable(e)]
        case.evses_recoverable = len(recoverable)
        case.connectors_recoverable = sum(len(e["connectors"]) for e in recoverable)
    return case


def _applies(name: str, source: Source) -> bool:
    return bool(quirks.damage(source.obj, (name,), random.Random(0))[1])


def _sample(name: str, kinds: tuple[str, ...], per_group: dict[str, int], default: dict[str, int],
            accept=lambda source: True) -> list[Case]:
    """Cases of one class: a few applicable objects of every group, seeded by the class name;
    more of each when the class applies to few groups (time_zone_spaces: only real feeds have
    zones with '_'), so that every class gets about MIN_LOCATIONS locations."""
    rng = random.Random(f"{SEED}/{name}")
    cases = []
    for kind in kinds:
        groups = {group: [s for s in members if accept(s)] for group, members in sorted(_groups(kind).items())}
        groups = {group: members for group, members in groups.items() if any(_applies(name, s) for s in members)}
        planned = sum(per_group.get(group, default[kind]) for group in groups)
        boost = -(-MIN_LOCATIONS // planned) if kind == "location" and 0 < planned < MIN_LOCATIONS else 1
        for group, members in groups.items():
            wanted = per_group.get(group, default[kind]) * boost
            order = list(members)
            rng.shuffle(order)
            taken = 0
            for source in order:
                if taken == wanted:
                    break
                case = _make_case(source, (name,), random.Random(f"{SEED}/{name}/{source.name}"))
                if case is not None:
                    cases.append(case)
                    taken += 1
    return cases


@functools.lru_cache(maxsize=None)
def class_cases(name: str) -> tuple[Case, ...]:
    quirk = quirks.CLASSES[name]
    default = {"location": DEFAULT_LOCATIONS_PER_GROUP, "tariff": TARIFFS_PER_GROUP}
    if quirk.recoverable:
        return tuple(_sample(name, quirk.kinds, LOCATIONS_PER_GROUP, default))
    # Unrecoverable EVSE damage needs neighbours: locations with several EVSEs.
    several = (lambda s: quirks.evse_count(s.obj) >= 2) if name in quirks.EVSE_CLASSES else (lambda s: True)
    return tuple(_sample(name, quirk.kinds, LOCATIONS_PER_GROUP, default, several))


@functools.lru_cache(maxsize=None)
def combination_cases() -> tuple[Case, ...]:
    """Seeded random combinations of 2-4 recoverable classes; a fifth of the locations also
    get unrecoverable EVSE damage (no_connectors or no_uid), whose EVSEs are not counted."""
    rng = random.Random(f"{SEED}/combinations")
    pool = list(quirks.sources())
    groups = sorted({(s.kind, s.group) for s in pool})
    cases: list[Case] = []
    while len(cases) < COMBINATIONS:
        kind, group = rng.choice(groups)
        source = rng.choice([s for s in pool if (s.kind, s.group) == (kind, group)])
        applicable = [n for n, q in RECOVERABLE.items() if kind in q.kinds]
        classes = rng.sample(applicable, rng.randint(2, 4))
        if kind == "location" and quirks.evse_count(source.obj) >= 2 and rng.random() < 0.2:
            classes.append(rng.choice(["no_connectors", "no_uid"]))
        case = _make_case(source, tuple(classes), random.Random(rng.random()))
        if case is not None and len(case.descriptions) >= 2:
            cases.append(case)
    return tuple(cases)


@functools.lru_cache(maxsize=None)
def clean_results() -> dict[str, NormalizedObject]:
    return {source.name: source.normalize() for source in quirks.sources()}


def _tariff_lookup(cases: tuple[Case, ...] | list[Case]):
    """The clean normalized tariffs of every source, and over them the damaged ones stored."""
    tariffs = {}
    for source in quirks.sources():
        result = clean_results()[source.name]
        if source.kind == "tariff" and result.ok:
            tariffs[result.data["country_code"], result.data["party_id"], result.data["id"]] = result.data
    for case in cases:
        if case.source.kind == "tariff" and case.result.ok:
            data = case.result.data
            tariffs[data.get("country_code"), data.get("party_id"), data.get("id")] = data
    return lambda country, party, tariff_id: tariffs.get((country, party, tariff_id))


# --- checks ----------------------------------------------------------------------------------

def _schema_problem(case: Case) -> str | None:
    schema = Location if case.source.kind == "location" else Tariff
    try:
        schema.model_validate(case.result.data)
        json.dumps(case.result.data)
    except Exception as error:  # noqa: BLE001 - the message is the finding
        return f"{type(error).__name__}: {str(error)[:300]}"
    return None


def _datex_problems(cases: list[Case] | tuple[Case, ...]) -> list[str]:
    """The kept locations, published as DATEX II table and status in both profiles: valid
    against the XSD (on failure, the first location that fails alone is named), with a
    charging point for every EVSE kept."""
    locations, seen = [], set()
    for number, case in enumerate(cases):
        if case.source.kind == "location" and case.result.ok:
            data = case.result.data
            key = (data.get("country_code"), data.get("party_id"), data.get("id"))
            if key in seen:
                # The demo fleet in three versions has the same ids: one site each.
                data = {**data, "id": f"{data.get('id')}~{number}"}
            seen.add(key)
            locations.append((case, data))
    if not locations:
        return []
    lookup = _tariff_lookup(cases)
    expected = sum(len(data.get("evses") or []) for _c, data in locations)
    problems = []
    for profile in PROFILES:
        for writer, options in ((write_table, {"tariffs_by_key": lookup}), (write_status, {})):
            try:
                count, document = render(writer, [data for _c, data in locations], profile, **options)
                assert_valid(document)
            except Exception as error:  # noqa: BLE001
                culprit = "?"
                for case, data in locations:
                    try:
                        assert_valid(render(writer, [data], profile, **options)[1])
                    except Exception:  # noqa: BLE001
                        culprit = case.label()
                        break
                problems.append(f"DATEX II {writer.__name__} ({profile}) invalid: {str(error)[:400]}\n"
                                f"      first failing location: {culprit}")
                continue
            if count != expected:
                problems.append(f"DATEX II {writer.__name__} ({profile}) wrote {count} charging points for the "
                                f"{expected} EVSEs kept")
    return problems


def _warnings(result: NormalizedObject) -> Counter:
    return Counter((f.field, f.reason) for f in result.findings if f.severity == "warning")


def _new_warnings(case: Case) -> list[str]:
    """Warnings the damaged object got that the clean one did not (real feeds' objects have
    warnings of their own: those say nothing about the damage)."""
    new = _warnings(case.result) - _warnings(clean_results()[case.source.name])
    return [f"{where}: {reason}" for where, reason in new]


def _silent(case: Case) -> bool:
    """Changed and stored, but no warning finding says what was repaired."""
    return case.changed and case.result.ok and not _new_warnings(case)


def _recoverable_report(title: str, cases: tuple[Case, ...]) -> list[str]:
    """Everything wrong with recoverable cases, as lines for the failure message; [] if all
    is well."""
    evses_in = sum(c.evses_recoverable for c in cases)
    evses_kept = sum(min(c.kept, c.evses_recoverable) for c in cases)
    connectors_in = sum(c.connectors_recoverable for c in cases)
    connectors_kept = sum(min(c.connectors_kept, c.connectors_recoverable) for c in cases)
    tariffs = [c for c in cases if c.source.kind == "tariff"]
    tariffs_kept = sum(c.result.ok for c in tariffs)
    lost, silent, invalid = [], [], []
    for case in cases:
        if case.source.kind == "location" and (case.kept < case.evses_recoverable
                                               or case.connectors_kept < case.connectors_recoverable):
            lost.append(f"{case.label()}\n      kept {case.kept}/{case.evses_recoverable} EVSEs, "
                        f"{case.connectors_kept}/{case.connectors_recoverable} connectors"
                        f"{'' if case.result.ok else ' (location dropped)'}; {case.what_happened}")
        if case.source.kind == "tariff" and not case.result.ok:
            lost.append(f"{case.label()}\n      tariff dropped; {case.what_happened}")
        if _silent(case):
            silent.append(f"{case.label()}\n      warnings {case.findings('warning')}")
        if case.result.ok:
            problem = _schema_problem(case)
            if problem:
                invalid.append(f"{case.label()}\n      {problem}")
    lines = []
    summary = f"{title}: EVSEs kept {evses_kept}/{evses_in}"
    if evses_in:
        summary += (f" ({100 * evses_kept / evses_in:.1f}%), connectors {connectors_kept}/{connectors_in} "
                    f"({100 * connectors_kept / max(connectors_in, 1):.1f}%)")
    if tariffs:
        summary += f", tariffs kept {tariffs_kept}/{len(tariffs)}"
    if (evses_kept < KEEP_AT_LEAST * evses_in or connectors_kept < KEEP_AT_LEAST * connectors_in
            or tariffs_kept < KEEP_AT_LEAST * len(tariffs)):
        lines.append(f"{title}: below {KEEP_AT_LEAST:.0%}; {len(lost)} objects lost something, e.g.")
        lines += [f"    {line}" for line in lost[:EXAMPLES_SHOWN]]
    if silent:
        lines.append(f"{title}: {len(silent)}/{sum(c.changed for c in cases)} changed objects stored without a "
                     f"warning finding, e.g.")
        lines += [f"    {line}" for line in silent[:EXAMPLES_SHOWN]]
    if invalid:
        lines.append(f"{title}: {len(invalid)} stored objects do not validate against the 2.3.0 schemas, e.g.")
        lines += [f"    {line}" for line in invalid[:EXAMPLES_SHOWN]]
    lines += [f"{title}: {line}" for line in _datex_problems(cases)]
    if lines:
        lines.insert(0, summary)
    return lines


# --- recoverable classes, one at a time ------------------------------------------------------

def test_the_sources_cover_every_origin_and_version():
    groups = {(s.kind, s.group): 0 for s in quirks.sources()}
    for source in quirks.sources():
        groups[source.kind, source.group] += 1
    for group in ("spec-2.3.0", "spec-2.2.1", "demo-2.3.0", "demo-2.2.1", "demo-2.1.1"):
        assert groups.get(("location", group), 0) >= 5, (group, groups)
        assert groups.get(("tariff", group), 0) >= 5, (group, groups)
    assert groups.get(("location", "real"), 0) >= 100, groups
    real_files = {s.name.split("#")[0] for s in quirks.sources() if s.group == "real"}
    assert len(real_files) >= 8, real_files


def test_damage_is_deterministic_and_leaves_the_source_alone():
    source = next(s for s in quirks.sources() if s.group == "demo-2.3.0" and s.kind == "location")
    before = json.dumps(source.obj, sort_keys=True)
    for name in quirks.CLASSES:
        first = quirks.damage(source.obj, [name], random.Random(7))
        assert first == quirks.damage(source.obj, [name], random.Random(7)), name
    assert json.dumps(source.obj, sort_keys=True) == before


@pytest.mark.parametrize("name", list(RECOVERABLE))
def test_a_recoverable_class_keeps_the_evses_warns_and_publishes_valid_data(name):
    cases = class_cases(name)
    assert len(cases) >= 5, f"{name}: only {len(cases)} objects it applies to"
    report = _recoverable_report(name, cases)
    assert not report, "\n".join(report)


def test_random_combinations_of_recoverable_classes():
    cases = combination_cases()
    report = _recoverable_report(f"{len(cases)} combinations", cases)
    if report:
        # Which classes the failing objects had in common.
        failing = [c for c in cases
                   if c.kept < c.evses_recoverable or c.connectors_kept < c.connectors_recoverable
                   or (c.source.kind == "tariff" and not c.result.ok) or _silent(c)]
        tally: dict[str, int] = {}
        for case in failing:
            for name in case.classes:
                tally[name] = tally.get(name, 0) + 1
        report.append("classes of the failing objects: "
                      + ", ".join(f"{n} {k}" for n, k in sorted(tally.items(), key=lambda item: -item[1])))
    assert not report, "\n".join(report)


# --- recoverable classes: the repair gives the original back ----------------------------------

# Classes whose repair has one right answer: the damaged object normalizes to what the
# clean one does (helpdesk_in_operator: but for the operator it had to add).
RESTORED_EXACTLY = ("enum_spelling", "connector_alias", "time_zone_spaces", "missing_time_zone", "numbers_as_text",
                    "fractional_integers", "wrong_units", "sunday_zero", "country_spelling", "timestamp_zone_missing",
                    "helpdesk_in_operator", "camel_case_keys")


def _differences(expected: Any, got: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(got, dict):
        found = []
        for key in sorted(set(expected) | set(got)):
            found += _differences(expected.get(key, "<absent>"), got.get(key, "<absent>"), f"{path}.{key}")
        return found
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{path.lstrip('.')}: {len(got)} items instead of {len(expected)}"]
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in _differences(e, g, f"{path}[{i}]")]
    return [] if expected == got else [f"{path.lstrip('.')}: {got!r} instead of {expected!r}"[:200]]


def _restoration_problems(case: Case) -> list[str]:
    name = case.classes[0]
    data = case.result.data
    if name in RESTORED_EXACTLY:
        expected = dict(clean_results()[case.source.name].data)
        got = dict(data)
        if name == "helpdesk_in_operator":
            operator = case.damaged.get("operator") or {}
            expected["help_phone"] = operator.get("phone_number", operator.get("phoneNumber"))
            if "operator" not in expected:
                got.pop("operator", None)
        return _differences(expected, got)
    if name in ("timestamp_year_one", "timestamp_far_future"):
        text = json.dumps(data)
        return [f"{sentinel} still stored" for sentinel in (quirks.YEAR_ONE, quirks.FAR_FUTURE) if sentinel in text]
    if name == "missing_format":
        problems = []
        stored = {(e.get("uid"), c.get("id")): c for e in data.get("evses") or [] for c in e.get("connectors") or []}
        for evse in case.damaged.get("evses") or []:
            for connector in evse.get("connectors") or []:
                if "format" in connector or not quirks.format_is_implied(connector):
                    continue
                standard = connector["standard"]
                expected = ("CABLE" if standard in quirks.CABLE_STANDARDS else
                            "SOCKET" if standard.startswith(("DOMESTIC_", "IEC_60309_")) else None)
                got = stored.get((evse.get("uid"), connector.get("id")), {}).get("format")
                if expected and got != expected:
                    problems.append(f"{evse.get('uid')}/{connector.get('id')} {standard}: format {got!r}, "
                                    f"expected {expected}")
        return problems
    return []


@pytest.mark.parametrize("name", RESTORED_EXACTLY + ("timestamp_year_one", "timestamp_far_future", "missing_format"))
def test_the_repair_gives_back_what_the_cpo_meant(name):
    """Beyond keeping the EVSE: the stored value is the one the quirk stood for (a kept but
    unrepaired "Type 2" or 0.4 kV would be published wrong)."""
    wrong = []
    for case in class_cases(name):
        if case.result.ok and not case.raised:
            problems = _restoration_problems(case)
            if problems:
                wrong.append(f"    {case.label()}\n      " + "; ".join(problems[:4]))
    assert not wrong, (f"{name}: {len(wrong)}/{sum(c.result.ok for c in class_cases(name))} stored objects differ "
                       f"from the clean object's normalization, e.g.\n" + "\n".join(wrong[:EXAMPLES_SHOWN]))


# --- unrecoverable classes -------------------------------------------------------------------

def _neighbours(source: Source, count: int = 2) -> list[Source]:
    """Valid demo objects of the source's kind and version (2.2 reads as 2.2.1), for a page."""
    group = {"2.3.0": "demo-2.3.0", "2.1.1": "demo-2.1.1"}.get(source.version, "demo-2.2.1")
    members = [s for s in _groups(source.kind)[group] if s.obj.get("id") != source.obj.get("id")]
    return members[:count]


def _page_problems(source: Source, damaged: dict, use_send: bool = False) -> list[str]:
    """The damaged object between two valid ones on one page: both neighbours stored whole."""
    neighbours = _neighbours(source)
    kind = source.kind
    objects = [copy.deepcopy(neighbours[0].obj), copy.deepcopy(damaged), copy.deepcopy(neighbours[1].obj)]
    page = Page(objects=objects, byte_count=0, total_count=None, bare_list=False)
    sent: list = []
    try:
        out = normalize_page(kind, page, source.version, source.identity, send=sent.append if use_send else None)
    except Exception as error:  # noqa: BLE001
        return [f"normalize_page raised {type(error).__name__}: {str(error)[:300]}"]
    stored: dict[str, int] = {}
    if use_send:
        for document, _raw in sent:
            data = orjson.loads(document)
            stored[data.get("id")] = len(data.get("evses") or [])
    else:
        for item in out.items:
            stored[item.key[2]] = len(item.evses) if kind == "location" else 0
    problems = []
    for neighbour in neighbours:
        expected = quirks.evse_count(neighbour.obj)
        got = stored.get(neighbour.obj["id"])
        if got != expected:
            state = "not stored" if got is None else f"{got}/{expected} EVSEs"
            problems.append(f"neighbour {neighbour.obj['id']}: {state}")
    return problems


def _named(case: Case, words: tuple[str, ...]) -> bool:
    return any(any(word in f"{f.field or ''} {f.reason}".lower() for word in words)
               for f in case.result.findings if f.severity == "error")


@pytest.mark.parametrize("name", list(UNRECOVERABLE))
def test_an_unrecoverable_class_loses_only_the_broken_part(name):
    quirk = UNRECOVERABLE[name]
    cases = class_cases(name)
    assert len(cases) >= 5, f"{name}: only {len(cases)} objects it applies to"
    wrong = []
    for number, case in enumerate(cases):
        problems = [f"normalize_object raised {case.raised}"] if case.raised else []
        if not case.raised and not _named(case, quirk.named_by):
            problems.append(f"no error finding naming the problem ({'/'.join(quirk.named_by[:3])}); "
                            f"errors {case.findings('error')}")
        if name in quirks.EVSE_CLASSES:
            if not case.result.ok:
                problems.append(f"the whole location was dropped; {case.what_happened}")
            elif case.kept != case.evses_recoverable:
                problems.append(f"kept {case.kept} EVSEs, the {case.evses_recoverable} undamaged ones expected")
            else:
                problem = _schema_problem(case)
                if problem:
                    problems.append(problem)
        elif case.result.ok:
            problems.append(f"stored although it should be an error finding (kept {case.kept} EVSEs; "
                            f"warnings {case.findings('warning')})")
        problems += _page_problems(case.source, case.damaged, use_send=number % 2 == 1)
        if problems:
            wrong.append(f"    {case.label()}\n      " + "\n      ".join(problems))
    if name in quirks.EVSE_CLASSES:
        wrong += [f"    {line}" for line in _datex_problems(cases)]
    assert not wrong, f"{name}: {len(wrong)}/{len(cases)} objects wrong, e.g.\n" + "\n".join(wrong[:EXAMPLES_SHOWN])


# --- what became of the units ------------------------------------------------------------------

def test_unit_counts_say_what_became_of_the_locations_evses_and_connectors():
    """NormalizedObject.counts: served = what the damaged input held, stored = what the
    result holds, served = stored + skipped, repaired <= stored; a tariff counts nothing."""
    wrong = []
    for name in quirks.CLASSES:
        for case in class_cases(name):
            if case.raised:
                continue  # reported by the class's own test
            counts, data = case.result.counts, case.result.data if case.result.ok else None
            if case.source.kind == "tariff":
                expected = {"locations": (0, 0), "evses": (0, 0), "connectors": (0, 0)}
            else:
                evses = [e for e in case.damaged.get("evses") or [] if isinstance(e, dict)]
                connectors_in = sum(len(e["connectors"]) for e in evses if isinstance(e.get("connectors"), list))
                kept = (data or {}).get("evses") or []
                expected = {"locations": (1, int(data is not None)), "evses": (len(evses), len(kept)),
                            "connectors": (connectors_in, sum(len(e["connectors"]) for e in kept))}
            figures = counts.as_dict()
            for unit, (served, stored) in expected.items():
                got = figures[unit]
                if ((got["served"], got["stored"]) != (served, stored)
                        or got["served"] != got["stored"] + got["skipped"] or got["repaired"] > got["stored"]):
                    wrong.append(f"{name}: {case.source.name}: {unit} {got}, expected served {served}, stored {stored}")
                    break
    assert not wrong, f"{len(wrong)} objects with wrong counts, e.g.\n  " + "\n  ".join(wrong[:6])


# --- any mutation: stored and valid, or error findings -----------------------------------------

@functools.lru_cache(maxsize=None)
def _property_pool() -> tuple[Source, ...]:
    """Locations of every group, a handful each (of the real ones, two of every feed)."""
    chosen, per_feed = [], Counter()
    for group, members in sorted(_groups("location").items()):
        if group != "real":
            chosen += members[:4]
            continue
        for source in members:
            feed = source.name.split("#")[0]
            if per_feed[feed] < 2:
                per_feed[feed] += 1
                chosen.append(source)
    return tuple(chosen)


@st.composite
def mutated_locations(draw):
    pool = _property_pool()
    source = pool[draw(st.integers(0, len(pool) - 1))]
    obj = copy.deepcopy(source.obj)
    how = draw(st.sampled_from(["replace", "remove", "quirk"]))
    if how == "quirk":
        name = draw(st.sampled_from(sorted(quirks.CLASSES)))
        obj, descriptions = quirks.damage(obj, [name], random.Random(draw(st.integers(0, 2**32))))
        return source, obj, f"{name}: {descriptions}"
    paths = list(_paths(obj))
    path = draw(st.sampled_from(paths))
    if how == "remove" and path:
        parent = obj
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            del parent[path[-1]]
            return source, obj, f"removed {path}"
    value = draw(json_values)
    return source, _replace_at(obj, path, value), f"{path} := {value!r}"[:300]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutation=mutated_locations(), use_send=st.booleans())
def test_any_mutation_is_stored_valid_or_explained_and_spares_the_page(mutation, use_send):
    source, obj, what = mutation
    note(f"{source.name} [{source.version}], mutation {what}")
    try:
        result = source.normalize(copy.deepcopy(obj))
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"normalize_object raised {type(error).__name__}: {str(error)[:300]}")
    if result.ok:
        case = Case(source, (), obj, [], result)
        problem = _schema_problem(case)
        assert problem is None, f"stored, but not valid 2.3.0: {problem}"
        assert not _datex_problems([case]), _datex_problems([case])
    else:
        assert any(f.severity == "error" and f.reason for f in result.findings), "dropped without an error finding"
    problems = _page_problems(source, obj, use_send=use_send)
    assert not problems, problems


# --- speed -----------------------------------------------------------------------------------

def test_the_samples_stay_a_few_hundred_objects():
    """The file must stay fast (well under a minute): a few hundred damaged objects."""
    total = sum(len(class_cases(name)) for name in quirks.CLASSES) + len(combination_cases())
    assert 300 <= total <= 800, total
