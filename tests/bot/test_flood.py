"""Flood control: a window per person; one "slow down", then silence until the window passes."""

from bot.flood import FloodGate, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_warning_then_silence_until_the_window_passes() -> None:
    clock = Clock()
    gate = FloodGate(3, window=60, clock=clock)
    assert [gate.check(7) for _ in range(6)] == [Verdict.ALLOW] * 3 + [Verdict.WARN, Verdict.SILENT, Verdict.SILENT]
    assert gate.check(8) is Verdict.ALLOW  # someone else is not slowed
    clock.now += 59
    assert gate.check(7) is Verdict.SILENT
    clock.now += 1  # the first three fall out of the window
    assert [gate.check(7) for _ in range(4)] == [Verdict.ALLOW] * 3 + [Verdict.WARN]


def test_no_limit_allows_everything() -> None:
    gate = FloodGate(0)
    assert all(gate.check(1) is Verdict.ALLOW for _ in range(1000))
