"""The config files a Snakemake profile names, so `slmbench status|redo` (and the entry script) read exactly the
config the workflow runs with: `--profile profiles/jetson` means config/config.yaml + jetpack6.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

from .errors import UserError


def profile_configfiles(profile: str) -> List[str]:
    """The `configfile` list of the profile directory `profile` (empty when it names none)."""
    import yaml

    settings = Path(profile) / "config.yaml"
    try:
        data = yaml.safe_load(settings.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise UserError(f"profile {profile}: cannot read {settings} ({exc.strerror}); give the profile's "
                        f"directory, e.g. --profile profiles/jetson") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{settings}: not valid YAML ({str(exc).splitlines()[0]})") from None
    files = data.get("configfile", data.get("configfiles")) or []
    files = [files] if isinstance(files, str) else list(files)
    # Snakemake reads a profile's path relative to the profile's directory when it exists there, else as given
    return [str(Path(profile) / f) if (Path(profile) / f).is_file() else str(f) for f in files]


def study_configfiles(configfiles: Optional[Sequence[str]], profile: Optional[str]) -> List[str]:
    """The config files in the order Snakemake merges them: the profile's, then each --configfile."""
    files = profile_configfiles(profile) if profile else []
    files += list(configfiles or [])
    return files or ["config/config.yaml"]


def load_study_config(configfiles: Optional[Sequence[str]], profile: Optional[str] = None):
    """(config, the files it was merged from): validated, one line naming the key when it is not."""
    files = study_configfiles(configfiles, profile)
    try:  # the one config loader (slmbench.config.load_config) where it exists, else the doctor's
        from .config import load_config
    except ImportError:
        from .doctor import load_config
    import yaml

    try:
        return load_config(files), files
    except yaml.YAMLError as exc:  # the loader's message names the file and line ("in "x.yaml", line 3")
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.name}, line {mark.line + 1}" if mark else " + ".join(files)
        raise UserError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}); fix the file") from None


def add_study_config_arguments(parser, verb: str = "read") -> None:
    """--configfile and --profile, the same for every command that reads the study's config."""
    parser.add_argument("--configfile", nargs="+", metavar="FILE",
                        help="the study's config file(s), in Snakemake's order (default: the profile's, else "
                             "config/config.yaml)")
    parser.add_argument("--profile", metavar="DIR",
                        help=f"{verb} the config files this Snakemake profile names (e.g. profiles/jetson)")


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m slmbench.profile categories [--profile DIR] [--configfile FILE...]`: the config's categories,
    space separated (the entry script checks a category named on its command line against them)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m slmbench.profile")
    parser.add_argument("what", choices=["categories", "configfiles"], help="what to print")
    parser.add_argument("--profile", metavar="DIR", help="a Snakemake profile directory (its configfile list)")
    parser.add_argument("--configfile", nargs="+", metavar="FILE", help="config files, in Snakemake's order")
    args = parser.parse_args(argv)
    config, files = load_study_config(args.configfile, args.profile)
    print(" ".join(config["categories"] if args.what == "categories" else files))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
