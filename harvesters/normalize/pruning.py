"""Validation that drops only the broken part: when an optional field, or one item of a
list, fails validation, that part is left out (with a warning) and the rest validated again.
A required field that fails leaves nothing to drop: the object is refused, with every
problem named.

Some parts only make sense whole: a location's `opening_times` without one of its periods
would say the place is closed then, and a tariff without one of its elements would state
another price. Errors inside them drop the whole part (when it is optional) or refuse the
object.
"""
from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from nap.ocpi.schemas import validation_problems

# Parts that are dropped whole or not at all.
WHOLE_PARTS = frozenset({"opening_times", "elements", "status_schedule", "energy_mix"})
_ROUNDS = 6


def field_path(location: tuple, prefix: str = "") -> str:
    path = prefix
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, through Optional, list and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner_model(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            found = _inner_model(argument)
            if found is not None:
                return found
    return None


def _cut(model: type[BaseModel], location: tuple, keep: frozenset[str]) -> tuple | None:
    """The deepest part on the error's path that may be dropped, or None."""
    best = None
    current: type[BaseModel] | None = model
    for depth, part in enumerate(location):
        if isinstance(part, int):
            best = location[:depth + 1]
            continue
        if current is None:
            break
        info = current.model_fields.get(part)
        if info is None:
            break
        if depth == 0 and part in keep:
            return None
        if not info.is_required():
            best = location[:depth + 1]
        if part in WHOLE_PARTS:
            break
        current = _inner_model(info.annotation)
    if best is not None and len(best) >= 2 and isinstance(best[-1], int) and best[-2] in WHOLE_PARTS:
        return None
    return best


def _drop(document: Any, path: tuple) -> bool:
    try:
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
        return True
    except (KeyError, IndexError, TypeError):
        return False


def validate_pruned(model: type[BaseModel], document: dict, prefix: str = "",
                    keep: frozenset[str] = frozenset()) -> tuple[BaseModel | None, list[str], list[tuple[str, str]],
                                                                 list[str]]:
    """(the model or None, warnings as "field: reason", errors as (field, reason), the
    parts dropped as "field: reason"; the warnings include them).
    `document` is changed in place (parts dropped); `keep`: top-level fields never dropped
    (the caller handles them); `prefix`: the document's path within the object."""
    dropped: list[str] = []
    for _ in range(_ROUNDS):
        warnings: list[str] = []
        try:
            validated = model.model_validate(document, context={"warnings": warnings})
        except ValidationError as error:
            problems = validation_problems(error)
        else:
            return validated, dropped + warnings, [], dropped
        cuts = []
        for problem in problems:
            cut = _cut(model, tuple(problem["loc"]), keep)
            if cut is None:
                return None, [], [(field_path(tuple(p["loc"]), prefix), p["msg"]) for p in problems], []
            cuts.append((cut, problem))
        # Deepest first, so that list indices still hold; a part inside one dropped goes with it.
        cuts.sort(key=lambda item: [(0, p) if isinstance(p, int) else (1, str(p)) for p in item[0]], reverse=True)
        done: list[tuple] = []
        for cut, problem in cuts:
            if any(cut[:len(other)] == other for other in done):
                continue
            if not _drop(document, cut):
                return None, [], [(field_path(tuple(p["loc"]), prefix), p["msg"]) for p in problems], []
            done.append(cut)
            where = field_path(tuple(problem["loc"]), prefix)
            dropped.append(f"{field_path(cut, prefix)}: left out, as {where} is invalid ({problem['msg']})")
    return None, [], [(prefix or "(object)", "too many invalid parts")], []
