"""Shared test setup: Qt runs offscreen (without a display Qt would abort the process)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(scope="session")
def bundled():
    """The 5,000 bundled MNIST digits (4,000 train / 1,000 test)."""
    from nnviz.core.data import load_bundled

    return load_bundled()
