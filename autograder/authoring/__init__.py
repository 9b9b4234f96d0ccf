"""Authoring: what an instructor writes and what students get (the instructor's machine).

`spec` (the `# CASES` cell's vocabulary: `Case`, `Exercise`, `Assignment`, and
`inputs`, small array helpers for a case's arguments), `student` (a reference
notebook read as an assignment; the student copy and its public cases),
`assign` (`autograder assign` and `autograder release`), `colab` (the set-up
cell's install source), `package` (the one copy of the package that releases
and bundles ship), `bundle` (`autograder gradescope`'s zip, with its scripts in
`templates/`) and `run_notebooks` (running whole notebooks, for CI and the bench).
Nothing here runs a student's code; the references run in `autograder.run`.
"""
