"""What the service remembers of each model's run times, and the window it makes of them."""

from __future__ import annotations

import math

from wiro_mcp.tasks.run_times import KEPT_PER_MODEL, MODELS_KEPT, RunTimes
from wiro_mcp.wiro.watch import RunWindow


def test_a_window_needs_three_run_times_and_spans_most_of_them_widened_a_little() -> None:
    times = RunTimes()
    times.add("a/b", 40.0)
    times.add("a/b", 42.0)
    assert times.window("a/b") is None
    for seconds in (30.0, 38.0, 41.0, 44.0, 60.0, 39.0, 43.0, 40.5, 41.5):
        times.add("a/b", seconds)
    window = times.window("a/b")
    assert window is not None
    # 11 run times: the 10th percentile is the 2nd (38 s), the 90th the 10th (44 s), each side widened
    # by 5 % of the middle one (41 s): the outliers at 30 and 60 s are outside.
    assert math.isclose(window.low, 38.0 - 2.05) and math.isclose(window.high, 44.0 + 2.05)
    assert times.window("other/model") is None


def test_only_the_latest_run_times_count_and_hostile_figures_are_ignored() -> None:
    times = RunTimes()
    for _ in range(KEPT_PER_MODEL):
        times.add("a/b", 100.0)
    for _ in range(KEPT_PER_MODEL):
        times.add("a/b", 10.0)  # the model got faster: the old run times are gone
    for odd in (math.nan, math.inf, -5.0, 0.0):
        times.add("a/b", odd)
    times.add("", 10.0)
    assert times.window("a/b") == RunWindow(10.0 - 0.5, 10.0 + 0.5)


def test_the_least_recently_run_model_is_forgotten_first() -> None:
    times = RunTimes()
    for _ in range(3):
        times.add("first/model", 5.0)
    for n in range(MODELS_KEPT - 1):
        times.add(f"m/{n}", 5.0)
    times.add("first/model", 5.0)  # run again: now the most recent
    times.add("one/more", 5.0)
    assert times.window("first/model") is not None
    assert repr(times) == f"RunTimes(models={MODELS_KEPT})"
    times.add("m/0", 5.0)
    times.add("m/0", 5.0)
    assert times.window("m/0") is None  # forgotten, then seen twice again: too few to go on
