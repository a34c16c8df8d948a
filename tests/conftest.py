"""Test-wide settings."""

import os

import torch

# Tiny models gain nothing from threads, and on a 2-core machine two threads per test process
# fight with every other process for the same cores (measured: ~10x slower tiny-model tests).
torch.set_num_threads(int(os.environ.get("STUDIO_TEST_THREADS", "1")))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded() -> None:
    # Each test starts from the same random state whatever ran before it, so a test's outcome
    # never depends on the order or selection of tests.
    torch.manual_seed(int(os.environ.get("STUDIO_TEST_SEED", "0")))
