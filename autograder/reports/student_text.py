"""Text a student wrote, made safe for each place a report shows it.

Runs in the grading process. Everything a job sends back — printed output,
exception names and messages, values in a message — is the student's text,
and so are notebook metadata and file names. None of it may become the
grader's words: it must not close a Markdown code fence, start a heading or
a link, move the instructor's terminal cursor, run as a spreadsheet formula
or stop a report from being written because it cannot be encoded.

- `printable`: any text, encodable as UTF-8 (lone surrogates and NUL shown
  as escapes) and without terminal control or escape sequences.
- `markdown_inline`: one line, every Markdown and HTML special character
  escaped, for a student's words inside one of the grader's sentences.
- `markdown_block`: a fenced code block no line of the text can close.
- `terminal_line`: one line for the instructor's terminal.
- `spreadsheet_cell`: a CSV cell no spreadsheet runs as a formula.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte ESC sequences,
# and the 8-bit forms of CSI/OSC/DCS/ST.
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, terminated or not
    r"|\x1b[P^_X][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, PM, APC, SOS
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b[ -/]*[0-~]?"  # other escapes
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x9d\x90][^\x07\x1b\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC, DCS
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}

FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""First characters that make a spreadsheet (Excel, LibreOffice, Sheets) treat a cell as a formula."""


def encodable(text: object) -> str:
    """`text` as a str that encodes as UTF-8: lone surrogates become `\\udcxx`, NUL becomes `\\x00`."""
    if not isinstance(text, str):
        text = str(text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")


def printable(text: object) -> str:
    """Encodable text with no terminal escape sequences and no control characters but newline and tab.

    Carriage returns become newlines (a bare CR would let a line overwrite the one before it).
    """
    text = encodable(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def terminal_line(text: object, width: int | None = None) -> str:
    """One printable line for a terminal: the first line of `text`, cut to `width` characters with an ellipsis."""
    line = printable(text).replace("\t", " ")
    line = line.split("\n", 1)[0] if line else ""
    if width is not None and len(line) > width:
        line = line[: max(0, width - 1)] + "…"
    return line


def markdown_inline(text: object) -> str:
    """A student's words inside a Markdown sentence: one line, nothing interpreted as Markdown or HTML."""
    line = " ".join(printable(text).split())
    line = "".join(_HTML.get(ch, ch) for ch in line)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", line)


def markdown_block(text: object, indent: str = "") -> str:
    """`text` as a fenced code block: the fence is longer than any run of backticks or tildes inside it.

    Args:
        text: the student's text (printed output, an error message).
        indent: put before every line (for a block inside a list item).
    """
    body = printable(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [fence, *body.split("\n"), fence] if body else [fence, fence]
    return "\n".join(indent + line if line else line for line in lines)


def spreadsheet_cell(text: object) -> str:
    """A printable CSV cell that no spreadsheet runs as a formula (a risky first character gets a `'`)."""
    cell = printable(text).replace("\n", " ").replace("\t", " ")
    return "'" + cell if cell.lstrip()[:1] in FORMULA_STARTS else cell


def spreadsheet_unquoted(cell: str) -> str:
    """`cell` as it was before `spreadsheet_cell` quoted it (for reading a gradebook back)."""
    return cell[1:] if cell[:1] == "'" and cell[1:].lstrip()[:1] in FORMULA_STARTS else cell
