"""course.plots: what each picture shows (drawn off screen)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course.plots import plot_confusion_matrix, plot_confusions  # noqa: E402


def test_confusion_plot_shows_counts_and_row_shares():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_confusion_matrix(np.array([[30, 10], [5, 55]]), title="t")
    assert [t.get_text() for t in ax.texts] == ["30\n75.0%", "10\n25.0%", "5\n8.3%", "55\n91.7%"]
    np.testing.assert_allclose(ax.get_images()[0].get_array(), [[0.75, 0.25], [5 / 60, 55 / 60]])
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.ones((2, 3)))


def test_plot_shows_only_the_tags_involved_in_the_top_mistakes():
    labels = ["A", "B", "C", "D"]
    confusion = np.array([[90, 8, 0, 0], [5, 70, 0, 0], [0, 0, 30, 1], [0, 0, 0, 20]])
    ax = plot_confusions(confusion, labels, k=2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"]
    assert sorted(t.get_text() for t in ax.texts) == ["5", "8"]
    image = ax.get_images()[0].get_array()
    assert image[0, 1] == pytest.approx(8 / 98) and image[1, 0] == pytest.approx(5 / 75)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="no mistake"):
        plot_confusions(np.eye(3, dtype=int), ["a", "b", "c"])
