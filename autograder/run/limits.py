"""Resource limits for one job, set by the instructor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission.

    Args:
        timeout_s: wall-clock seconds per submission; then the job is killed.
        memory_mb: memory the job may add beyond the warm template's, in MB
            (the job is one process, so this caps the whole job).
        cpu_s: CPU seconds per submission.
        output_bytes: printed output kept per submission; the rest is dropped (and noted).
        file_mb: largest file the job may write into its scratch folder.
        scratch_mb: total size of the scratch folder (a tmpfs of this size when
            the grader is root, else measured by the supervisor, which stops the job).
        scratch_files: files and folders the scratch folder may hold in all.
    """

    timeout_s: float = 30.0
    memory_mb: int = 2048
    cpu_s: int = 60
    output_bytes: int = 64_000
    file_mb: int = 10
    scratch_mb: int = 256
    scratch_files: int = 10_000

    def __post_init__(self) -> None:
        for name in ("timeout_s", "memory_mb", "cpu_s", "output_bytes", "file_mb", "scratch_mb", "scratch_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number; got {value!r}")
