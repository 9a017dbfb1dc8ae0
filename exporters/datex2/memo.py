"""Work shared between the locations of one publication, in bounded memory.

A national table repeats the same few tariffs at thousands of charging points: reading,
fitting and writing each of them once per publication instead of once per charging point
is most of an export's time. The memo forgets its oldest entries beyond `capacity`, so a
feed with a tariff per EVSE costs repeated work, never memory that grows with the EVSEs.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class BoundedMemo(Generic[Value]):
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._values: dict[Hashable, Value] = {}

    def get(self, key: Hashable, make: Callable[[], Value]) -> Value:
        try:
            return self._values[key]
        except KeyError:
            pass
        value = make()
        if len(self._values) >= self.capacity:
            # Oldest first (dicts keep insertion order): tariffs cluster by CPO, and the
            # locations of one CPO come together.
            del self._values[next(iter(self._values))]
        self._values[key] = value
        return value

    def __len__(self) -> int:
        return len(self._values)
