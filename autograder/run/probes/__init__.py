"""Probes: the code that runs one case inside the job's child (and in the student's kernel for `check`).

A probe is a function `probe(namespace, call) -> dict`: it receives the
namespace the student's cells ran in and a plain call description
(`autograder.authoring.spec.call_spec`), calls the student's function and returns plain
data. It never compares anything; comparison happens in the grading process.

A case names its probe in `Case.probe`: `"call"` and `"model"` are the built-in
ones; any other probe is named by import path, `"package.module:function"`, and
imported where the case runs. Nothing registers probes at run time, so no
notebook cell can change what the grader runs. The lesson-specific probes of
this course live beside this file (`lm`: A6's step-model and train-step probes).
"""
