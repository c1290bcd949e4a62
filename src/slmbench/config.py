"""The workflow config, once: read and merged as Snakemake does, validated against the schema, one-line errors.

Every CLI that takes a config file calls `load_config`; the Snakefile's parse calls `check_config` on the
config Snakemake already merged. The schema (workflow/schemas/config.schema.yaml) makes every key required,
so the config files are the one home of the defaults: no module re-declares them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union
from urllib.parse import urlsplit

import yaml

from .errors import UserError

# the Snakefile's `configfile:` (relative to the working directory, as Snakemake reads it)
DEFAULT_CONFIG = "config/demo.yaml"
SCHEMA = Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml"


def _key_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def looks_like_key(value) -> bool:
    """True for a value of api_key_env that is a key rather than a variable's name: a key's prefix, or long
    and no identifier, or long with the lower-case letters and digits of a random token."""
    if not isinstance(value, str):
        return False
    if value.lower().startswith(("sk-", "sk_", "sess-", "key-", "bearer ")):
        return True
    identifier = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) is not None
    if not identifier:
        return len(value) >= 16
    return len(value) >= 24 and any(c.islower() for c in value) and any(c.isdigit() for c in value)


def url_has_userinfo(value) -> bool:
    return isinstance(value, str) and "@" in (urlsplit(value.strip()).netloc or "")


def secret_problem(config: Mapping) -> Optional[str]:
    """A credential written into the config, named without echoing it: a password in a base_url (it would
    reach Snakemake's params, logs and .snakemake/ metadata) or a key pasted as api_key_env."""
    judge = config.get("judge") if isinstance(config, Mapping) else None
    if not isinstance(judge, Mapping):
        return None
    sections = [("judge", judge)] + [(f"judge.judges[{i}]", extra) for i, extra in enumerate(judge.get("judges") or [])
                                     if isinstance(extra, Mapping)]
    for where, section in sections:
        if url_has_userinfo(section.get("base_url")):
            return (f"config error: {where}.base_url: holds a user name or password (user:...@host); remove it, "
                    f"and put the secret in the environment variable named by judge.api_key_env; see config/README.md")
        if looks_like_key(section.get("api_key_env")):
            return (f"config error: {where}.api_key_env: looks like an API key itself (not shown here), not the "
                    f"name of an environment variable; put the key in a variable such as OPENAI_API_KEY and name "
                    f"that variable here; see config/README.md")
    return None


def config_problem(config: dict, schema_path: Union[str, Path] = SCHEMA) -> Optional[str]:
    """None when the config is valid, else one line: 'config error: <key>: <problem>; see config/README.md'.
    A credential in the config is refused first, and never echoed."""
    import jsonschema

    secret = secret_problem(config)
    if secret:
        return secret

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        message = error.message.replace("Additional properties are not allowed", "unknown key")
    elif error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "api_key_env":
        message = "is not the name of an environment variable (letters, digits and '_'; the value is not shown)"
    elif error.validator == "pattern":
        message = f"{error.instance!r} may contain only letters, digits, '.', '_' and '-'"
    elif error.validator == "required":
        message = error.message.replace("is a required property", "is missing (every key is required)")
    else:
        message = error.message
    return f"config error: {where}: {message}; see config/README.md"


def check_config(config: Mapping, schema_path: Union[str, Path] = SCHEMA) -> None:
    """Raise UserError (one line naming the key) unless the config is valid: the schema, then what a schema
    cannot say (model ids unique, the judge panel well formed)."""
    problem = config_problem(dict(config), schema_path)
    if problem:
        raise UserError(problem)
    ids = [m["id"] for m in config["models"]]
    if len(set(ids)) != len(ids):
        raise UserError("config error: models: two models share an id; give each a unique id")


def merge_config(base: dict, update: Mapping) -> dict:
    """Snakemake's merge of config files: nested dicts merged key by key, everything else replaced."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = value
    return base


def _read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise UserError(f"cannot read config {path} ({exc.strerror}); give an existing config file") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())[:200]}); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: a config file holds a mapping of keys (see config/config.yaml), "
                        f"not a {type(data).__name__}")
    return data


def load_config(configfiles: Union[None, str, Iterable[str]], default: str = DEFAULT_CONFIG) -> dict:
    """The config as `snakemake --configfile A B` sees it: the Snakefile's default config (when present in the
    working directory), then each file deep-merged over it in order; validated, else UserError naming the key."""
    files = [] if configfiles is None else [configfiles] if isinstance(configfiles, str) else list(configfiles)
    config = _read(default) if Path(default).exists() else {}
    for path in files:
        merge_config(config, _read(path))
    try:
        check_config(config)
    except UserError as exc:
        raise UserError(f"{' + '.join(files) or default}: {exc}") from None
    return config
