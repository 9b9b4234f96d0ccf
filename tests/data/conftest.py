"""Fixtures for the course.data tests."""

from pathlib import Path

import pytest

from course.data import paths


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared offline data folder (`../shared/data` from the repo root)."""
    path = Path(__file__).resolve().parents[3] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path}")
    return path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, no data directory, and an empty download cache."""
    monkeypatch.setattr(paths, "network_available", lambda *args, **kwargs: False)
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "cache"))
