"""Stage model files: the shipped ones parse; a bad file names the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from touchpoint.domain.stages import StageModelError, parse_stage_model
from touchpoint.errors import ValidationError
from touchpoint.lifecycle.model import BUILTIN_MODELS, builtin_model_text, load_model

GOOD = """\
[model]
name = "tiny"
version = 3

[parameters]
big = 100

[[stages]]
name = "lead"
  [[stages.enter]]
  types = ["*"]

[[stages]]
name = "buyer"
  [[stages.enter]]
  types = ["purchase"]
  revenue_min = "$big"
"""


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_shipped_models_parse_and_name_their_stages(name: str) -> None:
    model = load_model(name)
    assert model.name == name and model.stages and model.version >= 1


def test_the_default_model_has_the_documented_stages_and_overlays() -> None:
    model = load_model()
    assert model.stages == (
        "reach",
        "acquisition",
        "conversion",
        "retention",
        "loyalty",
        "advocacy",
    )
    assert set(model.overlay_names) == {"at_risk", "churned", "win_back"}
    assert model.parameters["at_risk_after_days"] == 90


def test_hubspot_is_forward_only_and_five_stage_is_not() -> None:
    assert load_model("hubspot").forward_only
    assert load_model("five_stage").stages == (
        "awareness",
        "engagement",
        "conversion",
        "retention",
        "loyalty",
    )


def test_parameters_are_substituted() -> None:
    model = parse_stage_model(GOOD)
    assert model.label == "tiny@3"
    assert [r.revenue_min for r in model.stage_rules if r.target == "buyer"] == [100.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('revenue_min = "$big"', 'revenue_min = "$huge"'),
            r"line 17: .*unknown parameter '\$huge'",
        ),
        (("revenue_min", "revnue_min"), r"line 17: stages\[2\]\.revnue_min: unknown rule key"),
        (('types = ["purchase"]', "types = []"), r"line 16: .*non-empty list"),
        (('name = "buyer"', 'name = "lead"'), r"line 14: .*defined twice"),
        (('types = ["*"]', 'types = ["signup"]'), r'types = \["\*"\]'),
        (("version = 3", "version = 3.5"), r"line 3: .*integer"),
        (('[[stages]]\nname = "buyer"', '[[stages]\nname = "buyer"'), "not valid TOML.*line 13"),
    ],
)
def test_a_bad_model_names_the_line_and_the_problem(change: tuple[str, str], message: str) -> None:
    bad = GOOD.replace(*change)
    assert bad != GOOD
    with pytest.raises(StageModelError, match=message):
        parse_stage_model(bad)


def test_overlays_are_refused_in_a_forward_only_model() -> None:
    text = builtin_model_text("default").replace("forward_only = false", "forward_only = true")
    with pytest.raises(StageModelError, match="forward_only model cannot have overlays"):
        parse_stage_model(text)


def test_load_model_reports_the_file_it_could_not_use(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace("version = 3", 'version = "x"'))
    with pytest.raises(ValidationError, match=r"mine\.toml: line 3"):
        load_model(path)
    with pytest.raises(ValidationError, match="no such model file"):
        load_model(tmp_path / "missing.toml")
