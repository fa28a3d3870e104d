"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from patchdata import make_tree


@pytest.fixture
def patch_tree(tmp_path: Path) -> Path:
    """Six patients with different IDC shares: enough for a stratified split."""
    counts = {
        "1001": (8, 4),
        "1002": (10, 2),
        "1003": (6, 6),
        "1004": (9, 3),
        "1005": (7, 5),
        "1006": (11, 1),
    }
    return make_tree(tmp_path / "idc", counts)
