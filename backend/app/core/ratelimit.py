"""Failed sign-ins counted per account and per client address in a sliding window.

In the API process's memory: each API process limits on its own (N processes allow N times the
figures), and a restart forgets. That bounds online guessing to a few attempts a minute per
account without a shared store; the limits are settings."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_KEYS = 100_000  # past this many tracked keys the least recently failed are forgotten


class FailureWindow:
    """Failures per key within `window_s`; a key at `limit` is refused until its oldest failure
    leaves the window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        times = self._recent(key, now)
        if len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.window_s - now

    def fail(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class LoginLimits:
    """The account and the address windows together; thread-safe (sync routes run in a pool)."""

    def __init__(
        self,
        per_account: int,
        per_address: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.accounts = FailureWindow(per_account, window_s)
        self.addresses = FailureWindow(per_address, window_s)
        self.clock = clock
        self._lock = threading.Lock()

    def retry_after(self, account: str, address: str) -> int:
        """Whole seconds to wait before signing in to `account` from `address`; 0: go ahead."""
        with self._lock:
            now = self.clock()
            wait = max(
                self.accounts.retry_after(account, now), self.addresses.retry_after(address, now)
            )
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, account: str, address: str) -> None:
        with self._lock:
            now = self.clock()
            self.accounts.fail(account, now)
            self.addresses.fail(address, now)

    def succeeded(self, account: str) -> None:
        # The account's owner knew the password; the address keeps its count (an attacker
        # signing in to an account of their own must not reset the count of their guesses).
        with self._lock:
            self.accounts.clear(account)
