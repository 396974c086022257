"""Fault injection: latency, failures, throttling and dropped connections, reproducibly.

Every request that arrives draws exactly two numbers from one seeded RNG, in arrival order,
before anything else happens (before authentication):

* the first picks the fault: ``fail`` with probability ``fail_rate``, else ``throttle`` with
  ``throttle_rate``, else ``drop`` with ``drop_rate``, else none;
* the second decides, for a drop, whether the request is processed first (the "lost
  response" case: the change is made but the client never hears of it) or dropped before
  anything is done, half and half.

So the same seed gives the same sequence of decisions, and the counts over the first N
requests do not depend on how concurrent requests interleave.
"""

from __future__ import annotations

import enum
import random
import threading
from collections import Counter
from dataclasses import dataclass

from ..errors import ConfigError


class Fault(enum.Enum):
    NONE = "none"
    FAIL = "fail"  # HTTP 503, nothing done
    THROTTLE = "throttle"  # HTTP 429, nothing done
    DROP_BEFORE = "drop_before"  # connection closed, nothing done
    DROP_AFTER = "drop_after"  # request processed, then the connection closed without an answer


@dataclass(frozen=True)
class Faults:
    """What to inject. Rates are probabilities per request; their sum must not exceed 1."""

    latency_ms: float = 0
    fail_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    actions: tuple[str, ...] = ()  # only requests for these operations (empty: every request)

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ConfigError(f"latency must not be negative, got {self.latency_ms}")
        for name, rate in (("fail", self.fail_rate), ("throttle", self.throttle_rate), ("drop", self.drop_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"{name} rate must be between 0 and 1, got {rate}")
        if self.fail_rate + self.throttle_rate + self.drop_rate > 1.0 + 1e-9:
            raise ConfigError("fail, throttle and drop rates must add up to at most 1")


class FaultInjector:
    """Decides the fault for each request; thread-safe. ``counts`` tallies injected faults."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def decide(self, action: str = "") -> Fault:
        f = self.faults
        if f.actions and action not in f.actions:
            return Fault.NONE
        with self._lock:
            roll, half = self._rng.random(), self._rng.random()
            if roll < f.fail_rate:
                fault = Fault.FAIL
            elif roll < f.fail_rate + f.throttle_rate:
                fault = Fault.THROTTLE
            elif roll < f.fail_rate + f.throttle_rate + f.drop_rate:
                fault = Fault.DROP_AFTER if half < 0.5 else Fault.DROP_BEFORE
            else:
                fault = Fault.NONE
            if fault is not Fault.NONE:
                self.counts[fault.value] += 1
        return fault
