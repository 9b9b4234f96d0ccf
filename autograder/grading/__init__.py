"""Grading: a class's submissions found, run in the sandbox, compared, judged (the grading process).

The steps, in the order a submission takes them: `submissions` (find each
notebook, its student and its assignment; locate its graded cells), `pipeline`
(`Grader`: the references, one job per submission, scoring as results come
back), `judge` and `compare` (each case against the reference, in this process,
never in the student's), and `driver` (the one driver: a `GradingSession` on
this machine's sandbox or on Dask workers, `cluster`). `gradescope` is the
entry point that runs inside Gradescope's container. The students' code itself
runs in `autograder.run`.
"""
