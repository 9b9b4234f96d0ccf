"""The one result model every report is written from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CaseResult:
    """One case of one exercise. `message` is safe to show (hidden cases: no values)."""

    name: str
    hidden: bool
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class ExerciseResult:
    """One graded exercise: its cases, and a headline a student can act on."""

    name: str
    cases: list[CaseResult] = field(default_factory=list)
    message: str = ""
    note: str = ""  # how the cell was found (duplicated, found by metadata, ...)

    @property
    def points(self) -> float:
        return float(sum(c.points for c in self.cases))

    @property
    def max_points(self) -> float:
        return float(sum(c.max_points for c in self.cases))


@dataclass
class LeaderboardEntry:
    """One leaderboard value the grader measured (Gradescope's `leaderboard` item)."""

    name: str
    value: float
    order: str = "asc"


@dataclass
class SubmissionResult:
    """A whole submission."""

    submission: str
    assignment: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    problem: str = ""  # a problem with the whole submission (not a notebook, timed out, ...)
    wall_s: float = 0.0
    output: str = ""
    leaderboard: list[LeaderboardEntry] = field(default_factory=list)

    @property
    def points(self) -> float:
        return float(sum(e.points for e in self.exercises))

    @property
    def max_points(self) -> float:
        return float(sum(e.max_points for e in self.exercises))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["points"], data["max_points"] = self.points, self.max_points
        return data
