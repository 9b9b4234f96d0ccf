"""The grading progress bar (tqdm) counts every submission and ends at the total."""

import io

from autograder.reports.terminal import ProgressBar
def test_the_bar_ends_at_the_total_and_counts_each_submission():
    stream = io.StringIO()
    progress = ProgressBar("grading", stream=stream)
    for done in range(1, 8):
        progress(done, 7)
    text = stream.getvalue()
    assert "grading" in text and "7/7" in text
    assert progress.bar.n == 7


def test_results_arriving_out_of_step_still_land_on_the_total():
    stream = io.StringIO()
    progress = ProgressBar(stream=stream)
    progress(3, 5)  # a cluster reports in batches
    progress(5, 5)
    assert progress.bar.n == 5 and "5/5" in stream.getvalue()
