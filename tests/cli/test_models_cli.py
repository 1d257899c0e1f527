"""`touchpoint model …` on the embedded default: a mistake is one line naming what is wrong,
never a traceback (the service tests cover every message; here the CLI's translation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import touchpoint


@pytest.mark.slow  # three CLI processes, each importing the analytics stack
def test_too_little_data_and_an_unknown_model_are_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert touchpoint("init", data_dir=data).returncode == 0
    for args, expected in {
        ("model", "train", "churn"): "too little data to train: the training cut-offs has 0",
        ("model", "show", "ltv"): "unknown model 'ltv'; use one of conversion, churn",
    }.items():
        result = touchpoint(*args, data_dir=data)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2


def test_model_help_explains_the_split_and_the_baselines(tmp_path: Path) -> None:
    result = touchpoint("model", "train", "--help", data_dir=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "baselines" in text and "--horizon" in text and "conversion|churn" in text
