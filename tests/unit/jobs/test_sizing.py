"""A worker's job threads share the machine's cores unless the thread settings are given."""

from __future__ import annotations

from medialens.config import Settings
from medialens.jobs.sizing import available_cores, shared_core_settings, threads_per_job


def test_each_job_gets_its_share_of_the_cores() -> None:
    assert threads_per_job(4, cores=16) == 4
    assert threads_per_job(16, cores=16) == 1
    assert threads_per_job(32, cores=16) == 1  # never less than one
    assert threads_per_job(1, cores=8) == 8
    assert threads_per_job(0, cores=8) == 8
    assert threads_per_job(1) == available_cores() >= 1


def test_only_settings_left_at_auto_are_sized() -> None:
    auto = Settings()
    assert shared_core_settings(auto, 2, cores=8) == {"MEDIALENS_MODEL_THREADS": "4", "MEDIALENS_DECODE_THREADS": "4"}
    given = Settings(model_threads=3)
    assert shared_core_settings(given, 2, cores=8) == {"MEDIALENS_DECODE_THREADS": "4"}
    assert shared_core_settings(Settings(model_threads=1, decode_threads=2), 8, cores=8) == {}
