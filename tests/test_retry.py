"""nap/retry.py: the one retry loop (push collisions, CPO requests)."""
from __future__ import annotations

import random

import pytest

from nap.retry import doubling, with_retries


class Collision(Exception):
    pass


def _failing(times: int, error: type[Exception] = Collision):
    calls = []

    def action():
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            raise error(f"try {len(calls)}")
        return "done"
    return action, calls


def test_a_collision_is_tried_again_until_it_succeeds():
    action, calls = _failing(2)
    announced = []
    assert with_retries(action, attempts=3, retry_on=Collision, backoff=lambda attempt, error: 0,
                        on_retry=lambda attempt, error, delay: announced.append((attempt, str(error)))) == "done"
    assert calls == [1, 2, 3] and announced == [(1, "try 1"), (2, "try 2")]


def test_the_last_error_propagates_after_the_last_attempt():
    action, calls = _failing(5)
    with pytest.raises(Collision, match="try 3"):
        with_retries(action, attempts=3, retry_on=Collision, backoff=lambda attempt, error: 0)
    assert calls == [1, 2, 3]


def test_another_error_propagates_at_once():
    action, calls = _failing(1, ValueError)
    with pytest.raises(ValueError):
        with_retries(action, attempts=3, retry_on=Collision, backoff=lambda attempt, error: 0)
    assert calls == [1]


def test_an_action_is_tried_at_least_once():
    action, calls = _failing(0)
    assert with_retries(action, attempts=0, retry_on=Collision, backoff=lambda attempt, error: 0) == "done"
    assert calls == [1]


def test_doubling_delays_with_and_without_jitter():
    error = Collision()
    assert [doubling(0.02)(attempt, error) for attempt in (1, 2, 3)] == [0.02, 0.04, 0.08]
    random.seed(3)
    for attempt in (1, 2, 3):
        base = 0.5 * 2 ** (attempt - 1)
        assert base / 2 <= doubling(0.5, jitter=True)(attempt, error) <= base
