"""Stage model files: the shipped ones, loading a file with clear errors, and the model in force.

The model in force is the one the projection was last built with; its text is kept in
`lifecycle_meta`, so editing a file changes nothing until `touchpoint lifecycle replay` applies it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from touchpoint.domain.stages import StageModel, StageModelError, parse_stage_model
from touchpoint.errors import ValidationError

BUILTIN_MODELS = ("default", "five_stage", "hubspot")


def builtin_model_text(name: str) -> str:
    return resources.files("touchpoint.lifecycle.models").joinpath(f"{name}.toml").read_text()


def load_model(path: Path | str | None = None) -> StageModel:
    """A model from a file path, a shipped model's name, or (None) the default model."""
    if path is None:
        return parse_stage_model(builtin_model_text("default"))
    text, where = read_model_text(path)
    try:
        return parse_stage_model(text)
    except StageModelError as exc:
        raise ValidationError(f"{where}: {exc}") from None


def read_model_text(path: Path | str) -> tuple[str, str]:
    """The text of a model given as a shipped name or a file, and how to name it in errors."""
    if str(path) in BUILTIN_MODELS:
        return builtin_model_text(str(path)), f"model {path}"
    file = Path(path)
    if not file.is_file():
        known = ", ".join(BUILTIN_MODELS)
        raise ValidationError(f"{file}: no such model file (shipped models: {known})")
    return file.read_text(encoding="utf-8"), str(file)


def model_from_text(text: str) -> StageModel:
    return parse_stage_model(text)
