"""Rules: what a graded cell must and must not call.

`static` reads the cell's syntax tree in the grading process (and in the
student's kernel for `check`); `watch` observes the calls while the cell and
its cases run, inside the job's child. Both read the same `Rules`.
"""
