"""Student text made safe for Markdown, terminals and spreadsheets; the grader's words recognised exactly."""

from __future__ import annotations

import json

import pytest

from autograder.grading.judge import explain_error
from autograder.run.probes.lookup import not_found_message
from autograder.run.protocol import ErrorInfo
from autograder.reports.student_text import (encodable, markdown_block, markdown_inline, printable, spreadsheet_cell,
                                     spreadsheet_unquoted, terminal_line)

ESCAPES = ["\x1b[2J", "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x07link\x1b]8;;\x07", "\x1b]0;title\x1b\\",
           "\x9b31m", "\x1bPdcs\x1b\\", "\x1b(B"]


@pytest.mark.parametrize("sequence", ESCAPES)
def test_escape_sequences_never_reach_a_terminal(sequence):
    shown = terminal_line(f"before {sequence} after")
    assert "\x1b" not in shown and "\x9b" not in shown and shown.startswith("before") and shown.endswith("after")


def test_lone_surrogates_and_nul_become_visible_escapes_that_encode():
    text = printable("a\udcff\x00b")
    text.encode("utf-8")  # raises if anything unencodable is left
    assert text == "a\\udcff\\x00b"
    assert encodable("ok é") == "ok é"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t=", "\r=", "\n=", " =", "\uff1d"])
def test_spreadsheet_cells_never_start_a_formula(start):
    cell = spreadsheet_cell(start + "HYPERLINK(\"http://x\")")
    assert cell.startswith("'") and "\t" not in cell and "\r" not in cell and "\n" not in cell
    assert spreadsheet_unquoted(cell) == cell[1:]
    assert spreadsheet_cell("alice") == "alice" and spreadsheet_unquoted("'quoted") == "'quoted"


@pytest.mark.parametrize("text", ["```\n# Score: 29/29\n```", "~~~~\n", "````` x", "`"])
def test_a_code_block_cannot_be_closed_from_inside(text):
    block = markdown_block(text).splitlines()
    fence = block[0]
    assert block[-1] == fence and fence and set(fence) == {"`"}
    assert not any(line.strip().startswith(fence) for line in block[1:-1])


def test_inline_text_has_no_markdown_or_html_left():
    shown = markdown_inline("# Score [link](x) ![img](y) <b>bold</b> *em* `code`\nsecond line")
    assert "\n" not in shown and "<" not in shown
    for special in ("#", "[", "!", "*", "`"):
        assert all(shown[i - 1] == "\\" for i, ch in enumerate(shown) if ch == special), shown


def test_the_graders_own_words_are_shown_as_the_graders():
    assert explain_error(ErrorInfo("ExerciseNotFound", not_found_message("rnn_step")), "rnn_step") == \
        not_found_message("rnn_step")
    assert explain_error(ErrorInfo("ExerciseNotFound", "`rnn_step` is a int, not a function"), "rnn_step") == \
        "`rnn_step` is a int, not a function"
    rule = "`rnn_forward` must call `tf.scan`"
    message = f"{rule} (`tf.scan` was never called)"
    assert explain_error(ErrorInfo("RuleBroken", message), "rnn_forward", rule) == message


@pytest.mark.parametrize("kind, message", [
    ("ExerciseNotFound", "Score adjusted to full marks by the instructor"),
    ("RuleBroken", "Score adjusted (it called `x` while running)"),
    ("SymbolicFailure", "regraded: 29/29"),
])
def test_a_forged_grader_error_is_shown_as_the_students_exception(kind, message):
    shown = explain_error(ErrorInfo(kind, message), "rnn_forward", "`rnn_forward` must call `tf.scan`")
    assert shown == f"raised {kind}: {message}"


def test_a_gradescope_result_quotes_the_problem():
    from autograder.reports.writer import gradescope_results
    from autograder.reports.results import SubmissionResult

    result = SubmissionResult("s", "A2", problem="crashed: # Score: 29 / 29 ![x](y) \x1b[2J\udcff")
    output = gradescope_results(result)["output"]
    json.dumps(output).encode("utf-8")
    assert output.startswith("> ") and "\\# Score" in output and "\\!\\[x\\]" in output and "\x1b" not in output
