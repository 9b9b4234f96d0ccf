"""Reports: what a graded class leaves behind (the grading process).

`results` (the one typed result model), `writer` (each submission's
`results.json` for Gradescope, its `feedback.md`, the gradebook CSV and
`run.json`, written as soon as it is scored), `export` (the LMS files, such as
Canvas' gradebook import), `terminal` (the summary table and the progress bar)
and `safe_files` (writing inside the output folder only, atomically).
"""
