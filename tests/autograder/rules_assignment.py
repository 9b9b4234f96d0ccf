"""A tiny assignment with rules, for the tests of `forbid`, `require`, `no_loops`, symbolic cases and points."""

SETUP = "# SETUP\nimport numpy as np\nimport tensorflow as tf\n"
CASES = '''# CASES
import numpy as np
from autograder.rules.static import Rules
from autograder.authoring.spec import Case, Exercise

def seq(B, T):
    return lambda rng: [rng.normal(size=(B, T)).astype("float32")]

def grads(scale):
    return lambda rng: [[(rng.normal(size=(3, 2)) * scale).astype("float32"),
                         (rng.normal(size=(4,)) * scale).astype("float32")], 1.0]

SCAN = Rules(require=("tf.scan",), no_loops=True, forbid=("tf.cumsum", "tf.math.cumsum", "np.cumsum", "course.*"),
             text="`running_sum` must run the recurrence with `tf.scan` (no Python loop, no cumulative-sum routine)")
CLIP = Rules(forbid=("tf.clip_by_global_norm", "course.*"),
             text="`clip` is written by hand: it must not call `tf.clip_by_global_norm`")

EXERCISES = [
    Exercise("running_sum", rules=SCAN, worth=6, cases=(
        Case("B 2, T 5", seq(2, 5), grad_wrt=(0,)),
        Case("sizes unknown until run time", seq(3, 4), symbolic=((0, 1),), points=2),
        Case("longer", seq(4, 9), hidden=True),
    )),
    Exercise("clip", rules=CLIP, worth=2, cases=(
        Case("clipped", grads(3.0)),
        Case("not clipped", grads(0.01), hidden=True),
    )),
]
'''
RUNNING_SUM = (
    "# GRADED: running_sum\ndef running_sum(x):\n    ### BEGIN SOLUTION\n"
    "    steps = tf.scan(lambda total, x_t: total + x_t, tf.transpose(x), initializer=tf.zeros(tf.shape(x)[0]))\n"
    "    return tf.transpose(steps)  # (B, T)\n    ### END SOLUTION\n"
)
CLIP = (
    "# GRADED: clip\ndef clip(grads, max_norm):\n    ### BEGIN SOLUTION\n"
    "    norm = tf.sqrt(tf.add_n([tf.reduce_sum(g * g) for g in grads]))\n"
    "    factor = max_norm / tf.maximum(norm, max_norm)\n"
    "    return [g * factor for g in grads], norm\n    ### END SOLUTION\n"
)

# name -> (running_sum cell, clip cell): each breaks one rule, or keeps them all
SUBMISSIONS = {
    "honest": (RUNNING_SUM, CLIP),
    "honest_with_helpers": (
        "# GRADED: running_sum\ndef add(total, x_t):\n    return tf.add(total, x_t)\n\n"
        "def running_sum(x):\n    zeros = tf.zeros_like(x[:, 0])\n"
        "    return tf.transpose(tf.scan(add, tf.transpose(x), initializer=zeros))\n",
        "# GRADED: clip\nimport tensorflow as tensorflow_again\n\ndef norm_of(grads):\n"
        "    return tensorflow_again.linalg.global_norm(grads)\n\n"
        "def clip(grads, max_norm):\n    n = norm_of(grads)\n    f = max_norm / tf.maximum(n, max_norm)\n"
        "    return [g * f for g in grads], n\n"),
    "python_loop": (
        "# GRADED: running_sum\ndef running_sum(x):\n    out, total = [], tf.zeros(x.shape[0])\n"
        "    for t in range(x.shape[1]):\n        total = total + x[:, t]\n        out.append(total)\n"
        "    tf.scan(lambda a, b: a, x)\n    return tf.stack(out, axis=1)\n", CLIP),
    "cumsum_alias": (
        "# GRADED: running_sum\nfrom tensorflow.math import cumsum as running\n\n"
        "def running_sum(x):\n    tf.scan(lambda a, b: a, x)\n    return running(x, axis=1)\n", CLIP),
    "cumsum_getattr": (
        "# GRADED: running_sum\ndef running_sum(x):\n    tf.scan(lambda a, b: a, x)\n"
        "    return getattr(tf.math, 'cum' + 'sum')(x, axis=1)\n", CLIP),
    "no_scan": (
        "# GRADED: running_sum\ndef running_sum(x):\n    unused = tf.scan\n"
        "    return tf.linalg.matmul(x, tf.linalg.band_part(tf.ones((tf.shape(x)[1], tf.shape(x)[1])), 0, -1))\n",
        CLIP),
    "clip_library": (RUNNING_SUM, "# GRADED: clip\ndef clip(grads, max_norm):\n"
                                  "    return tf.clip_by_global_norm(grads, max_norm)\n"),
    "clip_import_inside": (RUNNING_SUM, "# GRADED: clip\ndef clip(grads, max_norm):\n    import tensorflow\n"
                                        "    return tensorflow.clip_by_global_norm(grads, max_norm)\n"),
    "clip_dynamic": (RUNNING_SUM, "# GRADED: clip\ndef clip(grads, max_norm):\n"
                                  "    lib = __import__('tensor' + 'flow')\n"
                                  "    return getattr(lib, 'clip_by_' + 'global_norm')(grads, max_norm)\n"),
    "clip_course": (RUNNING_SUM, "# GRADED: clip\nfrom course import training as t\n\ndef clip(grads, max_norm):\n"
                                 "    return t.clip_by_global_norm(grads, max_norm)[:2]\n"),
    "clip_blinds_watch": (RUNNING_SUM, "# GRADED: clip\nimport sys\n\ndef clip(grads, max_norm):\n"
                                       "    off = getattr(sys, 'set' + 'profile')\n    off(None)\n"
                                       "    return __import__('tensor' + 'flow').clip_by_global_norm(grads, max_norm)\n"),
}
BROKEN = {  # submission -> (exercise that must score 0, words its message must hold)
    "python_loop": ("running_sum", "line 4 loops in Python"),
    "cumsum_alias": ("running_sum", "imports `tensorflow.math.cumsum`"),
    "cumsum_getattr": ("running_sum", "called `tf.math.cumsum` while running"),
    "no_scan": ("running_sum", "`tf.scan` was never called"),
    "clip_library": ("clip", "uses `tensorflow.clip_by_global_norm`"),
    "clip_import_inside": ("clip", "uses `tensorflow.clip_by_global_norm`"),
    "clip_dynamic": ("clip", "called `tf.clip_by_global_norm` while running"),
    "clip_course": ("clip", "imports `course.training`"),
    "clip_blinds_watch": ("clip", "switched off the grader's observer"),
}
