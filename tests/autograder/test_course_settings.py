"""The course folder's `autograder.toml`: every command reads it; options win; bad files are refused in words."""

from __future__ import annotations

import pytest

from autograder.cli import build_parser, main
from autograder.course_settings import load_settings
from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult
from autograder.reports.writer import ReportWriter

SETTINGS = '''install = "keras-seq-course @ git+https://example.org/course@v2"
solutions = "refs"
notebooks = "handouts"

[limits]
timeout_s = 75
memory_mb = 3000

[canvas_columns]
A2 = "A2: a vanilla RNN (4821)"
'''


def subcommand(parser, name):
    action = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001 - argparse has no public walk
    return action.choices[name]


def test_the_settings_file_gives_every_command_its_defaults(tmp_path, monkeypatch):
    (tmp_path / "autograder.toml").write_text(SETTINGS)
    monkeypatch.chdir(tmp_path)
    parser = build_parser(load_settings())
    grade = parser.parse_args(["grade", "x.ipynb", "--out", "o"])
    assert (grade.solutions, grade.timeout, grade.memory_mb) == ("refs", 75, 3000)
    assign = parser.parse_args(["assign"])
    assert assign.notebooks == "handouts" and assign.install.endswith("@v2")
    assert parser.parse_args(["gradescope", "A2"]).timeout == 75
    assert parser.parse_args(["grade", "x.ipynb", "--out", "o", "--timeout", "9"]).timeout == 9  # options win
    assert "default: 75" in subcommand(parser, "grade").format_help()


def test_a_regrade_keeps_the_canvas_column_from_the_settings(tmp_path, monkeypatch, capsys):
    (tmp_path / "autograder.toml").write_text(SETTINGS)
    monkeypatch.chdir(tmp_path)
    ReportWriter(tmp_path / "grades").add(SubmissionResult("al", "A2", [
        ExerciseResult("rnn_step", [CaseResult("c", False, 1.0, 1.0, True)])]))
    assert main(["export", "grades"]) == 0
    assert (tmp_path / "grades" / "canvas.csv").read_text().splitlines()[0].endswith(",A2: a vanilla RNN (4821)")


@pytest.mark.parametrize("text, says", [
    ("solutions = 3\n", "solutions must be a str"),
    ("colour = 'red'\n", "unknown setting 'colour'"),
    ("[limits]\ntimeout_s = -1\n", "limits.timeout_s must be above 0"),
    ("[limits]\ncpu = 1\n", "unknown setting limits.cpu"),
    ("install = \n", "is not readable TOML"),
])
def test_a_bad_settings_file_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, text, says):
    (tmp_path / "autograder.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "grades"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err


def test_a_named_settings_file_must_exist(tmp_path, capsys):
    assert main(["--settings", str(tmp_path / "nope.toml"), "export", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


NAMED = SETTINGS + '''
[names]
A2 = "A vanilla RNN on tf.scan"
A3 = "GRU and LSTM cells"
'''


def test_assignment_names_title_the_summary_the_canvas_column_and_a_new_notebook(tmp_path, monkeypatch, capsys):
    from autograder.reports.terminal import summary_table

    (tmp_path / "autograder.toml").write_text(NAMED)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.names == {"A2": "A vanilla RNN on tf.scan", "A3": "GRU and LSTM cells"}
    assert (settings.title("A3"), settings.title("A9")) == ("A3: GRU and LSTM cells", "A9")

    result = SubmissionResult("al", "A3", [ExerciseResult("gru_step", [CaseResult("c", True, 1.0, 1.0, True)])])
    table = summary_table([result], assignment_names=settings.names)
    assert table.splitlines()[0] == "A3: GRU and LSTM cells" and table.endswith(summary_table([result]))
    assert summary_table([result], assignment_names={"A9": "x"}) == summary_table([result])  # no name, no header

    writer = ReportWriter(tmp_path / "grades")
    writer.add(result)
    writer.add(SubmissionResult("bo", "A2", [ExerciseResult("rnn_step", [CaseResult("c", True, 1.0, 1.0, True)])]))
    assert main(["export", "grades"]) == 0  # A3 has no Canvas column: its name is the column; A2's column wins
    header = (tmp_path / "grades" / "canvas.csv").read_text().splitlines()[0].split(",")
    assert "A3: GRU and LSTM cells" in header and "A2: a vanilla RNN (4821)" in header

    assert main(["new", "A3"]) == 0
    assert "# A3: GRU and LSTM cells" in (tmp_path / "refs" / "A3.ipynb").read_text()


def test_an_empty_assignment_name_is_refused(tmp_path, monkeypatch, capsys):
    (tmp_path / "autograder.toml").write_text('[names]\nA2 = "  "\n')
    monkeypatch.chdir(tmp_path)
    assert main(["export", "grades"]) == 2
    assert "names.A2 is empty" in capsys.readouterr().err
