"""Each step's limits: wall-clock and CPU time, scaled from the reference, with their floors."""

from __future__ import annotations

import pytest

from autograder.grading.step_limits import StepLimits
from autograder.run import Cell, Job

WALL = {("f", ""): 0.01, ("f", "big"): 0.2, ("f", "small"): 0.001}
CPU = {("f", ""): 0.005, ("f", "big"): 0.1, ("f", "small"): 0.0005}


def test_each_limit_is_its_factor_times_the_reference_or_its_floor():
    limits = StepLimits(WALL, CPU, factor=20, floor_s=1.0, cpu_factor=10, cpu_floor_s=0.3)
    assert limits.of(("f", "big")) == (4.0, 1.0)  # 20 x 0.2 s wall-clock, 10 x 0.1 s of CPU
    assert limits.of(("f", "small")) == (1.0, 0.3)  # both floors
    assert limits.of(("g", "unknown")) == (1.0, 0.3)  # a step the reference never timed: the floors


def test_the_cpu_limit_never_exceeds_the_wall_clock_one():
    limits = StepLimits(WALL, CPU, factor=20, floor_s=0.2, cpu_factor=50, cpu_floor_s=5.0)
    for key in WALL:
        wall, cpu = limits.of(key)
        assert cpu <= wall
    assert limits.of(("f", "small")) == (0.2, 0.2)


def test_without_cpu_figures_the_cpu_limit_is_the_wall_clock_one():
    limits = StepLimits(WALL, None, factor=20, floor_s=1.0)
    assert limits.of(("f", "big")) == (4.0, 4.0)


def test_a_compiled_submission_gets_the_trace_floor_in_both():
    limits = StepLimits(WALL, CPU, factor=20, floor_s=1.0, cpu_factor=10, cpu_floor_s=0.3).at_least(8.0)
    assert limits.of(("f", "small")) == (8.0, 8.0)
    assert limits.of(("f", "big")) == (8.0, 8.0)


def test_apply_sets_both_on_calls_and_the_wall_clock_one_on_cells():
    job = Job(["import math"], [Cell("f", "def f(): pass")], [{"exercise": "f", "case": "big", "args": []}], 3, ["/x"])
    limited = StepLimits(WALL, CPU, 20, 1.0, 10, 0.3).apply(job)
    assert (limited.cells[0].time_limit_s, limited.cells[0].cpu_limit_s) == (1.0, None)  # a cell may build things
    assert limited.calls[0]["time_limit_s"] == 4.0 and limited.calls[0]["cpu_limit_s"] == pytest.approx(1.0)
    assert (limited.setup, limited.seed, limited.deny_paths, limited.calls[0]["args"]) == (["import math"], 3, ["/x"], [])
    again = Job.from_dict({**limited.to_dict(), "cells": [{"exercise": "f", "code": "", "cpu_limit_s": 0.5}]})
    assert again.cells[0].cpu_limit_s == 0.5 and again.calls[0]["cpu_limit_s"] == pytest.approx(1.0)  # survive the trip
