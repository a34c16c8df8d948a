"""Test-wide settings."""

import os

import torch

# Tiny models gain nothing from threads, and on a 2-core machine two threads per test process
# fight with every other process for the same cores (measured: ~10x slower tiny-model tests).
torch.set_num_threads(int(os.environ.get("STUDIO_TEST_THREADS", "1")))
# The suite's numerical checks are fp32 ones: on a CPU with bf16 units `precision: auto` would
# train in bf16 (worker/engine/cpu_features.py). Tests of that choice pass the CPU's facts in.
os.environ.setdefault("STUDIO_CPU_BF16", "off")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded() -> None:
    # Each test starts from the same random state whatever ran before it, so a test's outcome
    # never depends on the order or selection of tests.
    torch.manual_seed(int(os.environ.get("STUDIO_TEST_SEED", "0")))
