"""Config validation that ends in one line naming the key (Snakemake's own message spans a screen)."""

from __future__ import annotations

from pathlib import Path

import yaml


def _key_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def config_problem(config: dict, schema_path: str | Path) -> str | None:
    """None when the config is valid, else one line: 'config error: <key>: <problem>; see config/README.md'."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        message = error.message.replace("Additional properties are not allowed", "unknown key")
    elif error.validator == "pattern":
        message = f"{error.instance!r} may contain only letters, digits, '.', '_' and '-'"
    elif error.validator == "required":
        message = error.message.replace("is a required property", "is missing (every key is required)")
    else:
        message = error.message
    return f"config error: {where}: {message}; see config/README.md"
