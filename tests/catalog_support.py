"""Shared by the catalog tests: a clock the test moves by hand, so TTLs never depend on machine speed."""

from __future__ import annotations


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now
