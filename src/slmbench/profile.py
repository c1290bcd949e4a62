"""The study's config as Snakemake resolves it, for every command that reads it (`slmbench status|redo|doctor`,
the entry script): the same files, in the same order, and the same config.

Snakemake (9.x, `snakemake.cli.parse_args`) turns each profile's `config.yaml` into default command-line
arguments (configargparse): the profiles given (`--profile`, or `$SNAKEMAKE_PROFILE`) and then the workflow
profile (`profiles/default/` beside the Snakefile, applied automatically), a later profile's key replacing an
earlier one's, and an argument given on the command line replacing the profiles' value entirely. So
`--profile profiles/jetson --configfile F` reads F alone, not the profile's list plus F. A profile's
`config:` items are `--config` items. Rather than re-spell those rules, this module asks Snakemake's own
argument parser, so the files are exactly the ones a `snakemake` with the same options would read.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .errors import UserError

REPO_SNAKEFILE = Path(__file__).resolve().parents[2] / "Snakefile"
DEFAULT_SNAKEFILES = ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")


def _snakefile() -> Optional[str]:
    """The Snakefile `snakemake` would use here (its workflow profile sits beside it), else this repository's."""
    if any(Path(name).is_file() for name in DEFAULT_SNAKEFILES):
        return None  # Snakemake finds it itself
    return str(REPO_SNAKEFILE) if REPO_SNAKEFILE.is_file() else None


def snakemake_options(configfiles: Optional[Sequence[str]], profile: Optional[Sequence[str] | str],
                      config_items: Optional[Sequence[str]] = None) -> Tuple[List[str], dict]:
    """(config files, --config items as a dict) that `snakemake [--profile P] [--configfile F...] [--config ...]`
    run here would use, from Snakemake's own argument parser."""
    from snakemake.cli import parse_args, parse_config

    argv: List[str] = []
    snakefile = _snakefile()
    if snakefile:
        argv += ["--snakefile", snakefile]
    for one in [profile] if isinstance(profile, str) else (profile or []):
        argv += ["--profile", one]
    if configfiles:
        argv += ["--configfile", *configfiles]
    if config_items:
        argv += ["--config", *config_items]
    said = io.StringIO()
    try:  # Snakemake says "Using profile ..." on stderr, and exits on a profile it cannot find
        with contextlib.redirect_stderr(said):
            _, args = parse_args(argv)
    except SystemExit:
        words = " ".join(said.getvalue().split())
        if "no profile.yaml" in words:
            raise UserError(f"--profile {profile}: Snakemake finds no {profile}/config.yaml (or profile.yaml); give "
                            f"the profile's directory, e.g. --profile profiles/jetson") from None
        words = words.split("Error:", 1)[-1].strip() or "Snakemake refused these options"
        raise UserError(f"--profile {profile}: {words[:300]}") from None
    except Exception as exc:  # noqa: BLE001 - configargparse/yte errors name the profile file
        raise UserError(f"--profile {profile}: {' '.join(str(exc).split())[:300]}") from None
    try:
        items = parse_config(args.config) if args.config else {}
    except ValueError as exc:
        raise UserError(f"--config: {exc}") from None
    return [str(f) for f in (args.configfile or [])], items


def study_configfiles(configfiles: Optional[Sequence[str]], profile: Optional[str]) -> List[str]:
    """The config files as Snakemake reads them for these options (none given anywhere: config/config.yaml,
    as the workflow's parse takes it)."""
    from .config import STUDY_CONFIG

    files, _ = snakemake_options(configfiles, profile)
    return files or [STUDY_CONFIG]


def load_study_config(configfiles: Optional[Sequence[str]], profile: Optional[str] = None,
                      config_items: Optional[Sequence[str]] = None):
    """(config, the files it was merged from): as the workflow's parse makes it, validated; one line naming the
    file and key when it is not."""
    from .config import STUDY_CONFIG, load_config

    files, items = snakemake_options(configfiles, profile, config_items)
    return load_config(files or [STUDY_CONFIG], overrides=items), files or [STUDY_CONFIG]


def add_study_config_arguments(parser, verb: str = "read") -> None:
    """--configfile, --profile and --config, read as `snakemake` reads them, for every command that reads the
    study's config."""
    parser.add_argument("--configfile", nargs="+", metavar="FILE",
                        help="the study's config file(s), as for snakemake: they replace the profile's list "
                             "(default: the profile's, else config/config.yaml)")
    parser.add_argument("--profile", metavar="DIR",
                        help=f"{verb} the config this Snakemake profile gives (e.g. profiles/jetson)")
    parser.add_argument("--config", nargs="+", metavar="KEY=VALUE", dest="config_items",
                        help="config items over the files, as snakemake --config")


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m slmbench.profile categories|configfiles [--profile DIR] [--configfile FILE...]`: the config's
    categories, or its files, space separated (the entry script checks a category named on its command line)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m slmbench.profile")
    parser.add_argument("what", choices=["categories", "configfiles"], help="what to print")
    add_study_config_arguments(parser)
    args = parser.parse_args(argv)
    from .command import run

    def show(args) -> int:
        config, files = load_study_config(args.configfile, args.profile, args.config_items)
        print(" ".join(config["categories"] if args.what == "categories" else files))
        return 0

    return run(show, args)


if __name__ == "__main__":
    raise SystemExit(_main())
