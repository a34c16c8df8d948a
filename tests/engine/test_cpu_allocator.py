"""The CPU job's fixed mmap threshold: 32 MiB unless STUDIO_CPU_MMAP_THRESHOLD says otherwise, and
a setting that is not a size is refused by name rather than ignored."""

import pytest

from worker.engine.errors import ConfigError
from worker.engine.training import DEFAULT_MMAP_THRESHOLD, fix_the_mmap_threshold, mmap_threshold


def test_default_and_setting(monkeypatch):
    monkeypatch.delenv("STUDIO_CPU_MMAP_THRESHOLD", raising=False)
    assert mmap_threshold() == DEFAULT_MMAP_THRESHOLD == 32 * 2**20
    monkeypatch.setenv("STUDIO_CPU_MMAP_THRESHOLD", "131072")
    assert mmap_threshold() == 131072


@pytest.mark.parametrize("raw, says", [("32MiB", "give a size in bytes"), ("12", "4096 to")])
def test_a_bad_setting_is_named(monkeypatch, raw, says):
    monkeypatch.setenv("STUDIO_CPU_MMAP_THRESHOLD", raw)
    with pytest.raises(ConfigError, match="STUDIO_CPU_MMAP_THRESHOLD") as e:
        mmap_threshold()
    assert says in str(e.value)


def test_glibc_takes_it():
    # glibc's mallopt answers 1 when it takes the value; this machine's libc is glibc.
    assert fix_the_mmap_threshold(DEFAULT_MMAP_THRESHOLD) is True
