"""The workflow config, once: read and merged as Snakemake does, validated against the schema, one-line errors.

Every CLI that takes a config file calls `load_config`; the Snakefile's parse calls `workflow_config` and
`check_config` on the config Snakemake already merged. The schema (workflow/schemas/config.schema.yaml) makes
every key required, so the config files are the one home of the defaults: no module re-declares them.

The files given are the whole config: the study (config/config.yaml) is used only when no file is given, and
no file ever fills another's gaps (the demo's `max_tokens: 128` must never stand in for a key a study lacks).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence, Union
from urllib.parse import urlsplit

import yaml

from .errors import UserError

# the config when none is given (relative to the working directory, as Snakemake reads it): the study
STUDY_CONFIG = "config/config.yaml"
DEFAULT_CONFIG = STUDY_CONFIG
DEMO_CONFIG = "config/demo.yaml"
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


def is_loopback_host(host: Optional[str]) -> bool:
    """localhost, 127.0.0.0/8 or ::1: a request to it never leaves this machine."""
    if not host:
        return False
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_http_to_network(url) -> bool:
    """True for an http:// URL whose host is not this machine: what travels there can be read on the way."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname)


def secret_problem(config: Mapping) -> Optional[str]:
    """A credential written into the config, named without echoing it: a password in a base_url (it would
    reach Snakemake's params, logs and .snakemake/ metadata) or a key pasted as api_key_env."""
    judge = config.get("judge") if isinstance(config, Mapping) else None
    if not isinstance(judge, Mapping):
        return None
    # an extra judge is checked as it runs: with the first judge's backend and endpoint where it names none
    inherited = {k: judge.get(k) for k in ("backend", "base_url") if k in judge}
    sections = [("judge", judge)] + [(f"judge.judges[{i}]", {**inherited, **extra})
                                     for i, extra in enumerate(judge.get("judges") or []) if isinstance(extra, Mapping)]
    writer = (config.get("prompts") or {}).get("generator") if isinstance(config.get("prompts"), Mapping) else None
    if isinstance(writer, Mapping):  # the prompt writer's endpoint and key variable: the same rules
        sections.append(("prompts.generator", writer))
    for where, section in sections:
        if url_has_userinfo(section.get("base_url")):
            return (f"config error: {where}.base_url: holds a user name or password (user:...@host); remove it, "
                    f"and put the secret in the environment variable named by judge.api_key_env; see config/README.md")
        if looks_like_key(section.get("api_key_env")):
            return (f"config error: {where}.api_key_env: looks like an API key itself (not shown here), not the "
                    f"name of an environment variable; put the key in a variable such as OPENAI_API_KEY and name "
                    f"that variable here; see config/README.md")
        if section.get("backend", "openai") == "openai" and section.get("api_key_env") \
                and plain_http_to_network(section.get("base_url")):
            return (f"config error: {where}.base_url: {endpoint_words(section['base_url'])} is plain http to another "
                    f"machine, and the key in {section['api_key_env']} ({where}.api_key_env) would cross the network "
                    f"unencrypted; use https, or set {where}.api_key_env: null for a server that needs no key; see "
                    f"config/README.md")
    return None


def endpoint_words(url: str) -> str:
    """scheme://host:port/path of a URL: never its user, password or query (a key can hide in either)."""
    parts = urlsplit(url.strip())
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def config_problem(config: dict, schema_path: Union[str, Path] = SCHEMA) -> Optional[str]:
    """None when the config is valid, else one line: 'config error: <key>: <problem>; see config/README.md'.
    A credential in the config is refused first, and never echoed."""
    import jsonschema

    secret = secret_problem(config)
    if secret:
        return secret

    # libyaml's loader when there is one: the pure-Python one takes longer than the validation itself
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    schema = yaml.load(Path(schema_path).read_text(encoding="utf-8"), Loader=loader)
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
    elif error.validator == "required":  # name the missing key itself: inference.max_tokens
        missing = next((k for k in error.validator_value if k not in error.instance), None)
        where = _key_path([*error.absolute_path, missing]) if missing else where
        message = "is missing (every key is required; copy it from config/config.yaml)"
    else:
        message = error.message
    return f"config error: {where}: {message}; see config/README.md"


def check_config(config: Mapping, schema_path: Union[str, Path] = SCHEMA,
                 remember_in: Union[None, str, Path] = None) -> None:
    """Raise UserError (one line naming the key) unless the config is valid: the schema, then what a schema
    cannot say (model ids unique, the judge panel well formed).

    `remember_in` (the Snakefile's parse: .snakemake/slmbench): a directory where the hash of the last config
    that passed the schema is kept, so an unchanged config is not validated again at every parse (importing
    jsonschema and validating costs about as much as planning a small study's DAG)."""
    marker = Path(remember_in) / "config_valid.sha256" if remember_in else None
    digest = _config_digest(config, schema_path) if marker else None
    try:
        known = marker is not None and marker.read_text(encoding="utf-8") == digest
    except OSError:
        known = False
    if not known:
        problem = config_problem(dict(config), schema_path)
        if problem:
            raise UserError(problem)
        if marker is not None:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(digest, encoding="utf-8")
            except OSError:
                pass  # a read-only working directory: validated again next time, nothing worse
    ids = [m["id"] for m in config["models"]]
    if len(set(ids)) != len(ids):
        raise UserError("config error: models: two models share an id; give each a unique id")
    inference = config["inference"]
    if inference["max_tokens"] >= inference["n_ctx"]:
        # every prompt would become an error record: 1600 failed runs after hours, instead of one line now
        raise UserError(f"config error: inference.max_tokens ({inference['max_tokens']}) must be below inference.n_ctx "
                        f"({inference['n_ctx']}): the prompt needs room in the context; raise n_ctx or lower "
                        f"max_tokens")


def _config_digest(config: Mapping, schema_path: Union[str, Path]) -> str:
    """sha256 of the config's content, the schema and this module: a change of any validates again."""
    text = json.dumps(config, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(b"\0".join((text, Path(schema_path).read_bytes(), Path(__file__).read_bytes()))).hexdigest()


def merge_config(base: dict, update: Mapping) -> dict:
    """Snakemake's merge of config files: nested dicts merged key by key, everything else replaced."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = value
    return base


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: `*name` repeats a node by reference, and a few nested ones expand into billions of
    values as soon as anything walks the config (the schema check, a hash, a job's params): 103 s and 2.8 GB for
    a dry run. A config never needs one."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise UserError(f"{self.name}, line {event.start_mark.line + 1}: a YAML alias (*{event.anchor}) is not "
                            f"allowed in a config; write the value out in full (yaml.dump writes one for an object "
                            f"met twice: dump a deep copy)")
        return super().compose_node(parent, index)


def utf8_text(path: str | os.PathLike, what: str = "file") -> str:
    """A text file's content; bytes that are not UTF-8 are one line naming the file and the line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UserError(f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the {what} as "
                        f"UTF-8") from None


def _read(path: str) -> dict:
    try:
        text = utf8_text(path, "config")
    except OSError as exc:
        raise UserError(f"cannot read config {path} ({exc.strerror}); give an existing config file") from None
    try:
        loader = _NoAliasLoader(text)
        loader.name = str(path)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())[:200]}); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: a config file holds a mapping of keys (see config/config.yaml), "
                        f"not a {type(data).__name__}")
    return data


def load_config(configfiles: Union[None, str, Iterable[str]], default: str = DEFAULT_CONFIG,
                overrides: Optional[Mapping] = None) -> dict:
    """The config as `snakemake --configfile A B [--config k=v]` sees it: the files deep-merged in order
    (`default`, the study, when none is given; never under given files), then `overrides` (--config items);
    validated, else UserError naming the file and the key."""
    files = [] if configfiles is None else [configfiles] if isinstance(configfiles, str) else list(configfiles)
    config: dict = {}
    for path in files or [default]:
        merge_config(config, _read(path))
    if overrides:
        merge_config(config, overrides)
    try:
        check_config(config)
    except UserError as exc:
        raise UserError(f"{' + '.join(files) or default}: {exc}") from None
    return config


def workflow_config(config: dict, cli_configfiles: Sequence, snakefile_configfiles: Sequence,
                    default: str = STUDY_CONFIG) -> List[str]:
    """Complete the config of a Snakemake parse in place and return the files it came from.

    The Snakefile declares no `configfile:` (Snakemake would merge --configfile OVER it, so a study file missing
    a key would silently get the demo's value). Snakemake has already merged the --configfile files (or a
    profile's) and the --config items into `config`; with no file given, the study's file goes under the
    --config items here. Validation (check_config) follows in the workflow."""
    given = [str(f) for f in cli_configfiles] or [str(f) for f in snakefile_configfiles]
    for path in given:  # Snakemake has read them (aliases by reference): refuse an alias before anything walks it
        _read(path)
    if given:
        return [os.path.relpath(f) if os.path.isabs(f) else f for f in given]
    merged = merge_config(_read(default), config)
    config.clear()
    config.update(merged)
    return [default]


def settle_workflow_config(config: dict, cli_configfiles: Sequence, snakefile_configfiles: Sequence,
                           argv: Sequence[str] = ()) -> List[str]:
    """The workflow's parse: the config completed (workflow_config), validated, the user's input files present
    (not for `snakemake --lint`, which reads the rules only); UserError with one line otherwise. Returns the
    config files, as the start of a run names them."""
    files = workflow_config(config, cli_configfiles, snakefile_configfiles)
    check_config(config, remember_in=".snakemake/slmbench")  # an unchanged valid config is not re-validated
    problem = None if "--lint" in argv else missing_input_problem(config)
    if problem:
        raise UserError(f"slmbench: error: {problem}")
    return files


def missing_input_problem(config: Mapping) -> Optional[str]:
    """One line when a file the study needs from the user is absent (checked at parse, before any planning):
    today the prompt spreadsheet of prompts.source: spreadsheet."""
    prompts = config["prompts"]
    sheet = prompts["spreadsheet"]
    if prompts["source"] == "spreadsheet" and not Path(sheet).is_file():
        return (f"the prompt spreadsheet {sheet} (prompts.spreadsheet) is missing: put your prompt levels there "
                f"(README, Prompt levels), or set prompts.source: generate; the demo needs none: "
                f"--configfile {DEMO_CONFIG}")
    return None
