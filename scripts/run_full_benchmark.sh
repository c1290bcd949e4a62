#!/usr/bin/env bash
# Run the slmbench study (or a subset of its categories) through Snakemake. See --help.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
    cat <<'EOF'
Usage: scripts/run_full_benchmark.sh COMMAND [SNAKEMAKE ARGS...]
       scripts/run_full_benchmark.sh [--profile DIR] [--configfile FILE...]     (the menu, in a terminal)

Commands:
  full all                  the whole study: every category of the config
  full CATEGORY [CATEGORY]  only these categories (e.g. full writing math); the same as
                            snakemake --config 'categories=[writing,math]'
  doctor                    check the board, sensor, llama.cpp build, models, disk and judge key;
                            takes --profile DIR and --configfile FILE... like full
  status                    where the study stands: shards, judging, errors, cost, ETA and what to do
                            next (slmbench status; read-only, safe beside a running study);
                            takes --profile DIR and --configfile FILE...; for a dry run: full all -n
  (none)                    an interactive menu, when standard input is a terminal; whatever is picked runs
                            with the --profile/--configfile (and Snakemake arguments) given

Anything after the command goes to Snakemake as it is, e.g.
  scripts/run_full_benchmark.sh full writing --cores 4 --profile profiles/jetson
  scripts/run_full_benchmark.sh full all --configfile config/demo.yaml     # the offline demo
  scripts/run_full_benchmark.sh full math -n                                # preview only

The config is exactly the files given: --configfile FILE... (in order), else the --profile's own list (e.g.
profiles/jetson: config/config.yaml + profiles/jetson/jetpack6.yaml), else config/config.yaml, the study.
No file fills another's gaps.

Settings (environment):
  SLMBENCH_CONFIG   config file(s), space separated, used when neither --configfile nor --profile is given
  SNAKEMAKE         the snakemake command (default: the repository's .venv, else snakemake on PATH)

Runs are resumable: run the same command again after a crash and only missing shards are redone.
EOF
}

die() {
    echo "run_full_benchmark: error: $*" >&2
    exit 2
}

find_snakemake() {
    if [[ -n "${SNAKEMAKE:-}" ]]; then
        read -r -a SNAKEMAKE_CMD <<<"$SNAKEMAKE"
    elif [[ -x "$REPO/.venv/bin/snakemake" ]]; then
        SNAKEMAKE_CMD=("$REPO/.venv/bin/snakemake")
    elif command -v snakemake >/dev/null 2>&1; then
        SNAKEMAKE_CMD=(snakemake)
    else
        die "snakemake not found; install it (README, Quick start) or set SNAKEMAKE"
    fi
}

# Split the caller's Snakemake arguments: --configfile (one or more files) and --profile choose the config;
# --cores/-c/-j keep theirs, and --config items are gathered into one --config (a second --config would silently
# replace the first). The script adds a --configfile only for SLMBENCH_CONFIG: a --configfile beside --profile
# would replace the profile's list (profiles/jetson would lose jetpack6.yaml, the CUDA interpreter).
parse_passthrough() {
    CONFIGFILES=()
    PROFILE=""
    PASS=()
    CONFIG_ITEMS=()
    HAS_CORES=0
    HAS_DIRECTORY=0
    while (($#)); do
        case "$1" in
            --configfile | --configfiles)
                shift
                while (($#)) && [[ "$1" != -* ]]; do CONFIGFILES+=("$1"); shift; done
                ((${#CONFIGFILES[@]})) || die "--configfile needs a file"
                continue
                ;;
            --configfile=* | --configfiles=*) CONFIGFILES+=("${1#*=}") ;;
            --profile)
                [[ $# -ge 2 ]] || die "--profile needs a directory"
                PROFILE="$2"
                PASS+=("$1" "$2")
                shift 2
                continue
                ;;
            --profile=*) PROFILE="${1#*=}"; PASS+=("$1") ;;
            --config | -C)
                shift
                while (($#)) && [[ "$1" != -* ]]; do
                    CONFIG_ITEMS+=("$1")
                    shift
                done
                continue
                ;;
            --cores | -c | --jobs | -j | --cores=* | -c* | --jobs=* | -j*) HAS_CORES=1; PASS+=("$1") ;;
            --directory | -d | --directory=*) HAS_DIRECTORY=1; PASS+=("$1") ;;
            *) PASS+=("$1") ;;
        esac
        shift
    done
    if ((${#CONFIGFILES[@]} == 0)) && [[ -z "$PROFILE" && -n "${SLMBENCH_CONFIG:-}" ]]; then
        read -r -a CONFIGFILES <<<"$SLMBENCH_CONFIG"
    fi
}

# The slmbench arguments naming the config: the same files Snakemake will merge.
config_args() {
    CONFIG_ARGS=()
    [[ -n "$PROFILE" ]] && CONFIG_ARGS+=(--profile "$PROFILE")
    ((${#CONFIGFILES[@]})) && CONFIG_ARGS+=(--configfile "${CONFIGFILES[@]}")
    return 0
}

run_snakemake() {  # [ITEM=VALUE...]: more --config items
    find_snakemake
    local cores=() config=() files=()
    ((HAS_CORES)) || cores=(--cores all)
    CONFIG_ITEMS+=("$@")
    ((${#CONFIG_ITEMS[@]})) && config=(--config "${CONFIG_ITEMS[@]}")
    # Relative paths are the repository's, unless the caller chose another working directory.
    ((HAS_DIRECTORY)) || cd "$REPO"
    local file
    for file in "${CONFIGFILES[@]}"; do
        [[ -f "$file" ]] || die "config file $file not found (give --configfile or SLMBENCH_CONFIG)"
    done
    # the config files last: a target after --configfile would be read as one more config file
    ((${#CONFIGFILES[@]})) && files=(--configfile "${CONFIGFILES[@]}")
    set -x
    "${SNAKEMAKE_CMD[@]}" -s "$REPO/Snakefile" "${cores[@]}" "${PASS[@]}" "${config[@]}" "${files[@]}"
}

check_category() {
    [[ "$1" =~ ^[A-Za-z0-9._-]+$ ]] || die "category '$1' may contain only letters, digits, '.', '_' and '-'"
    if [[ -n "${KNOWN_CATEGORIES:-}" ]] && [[ " $KNOWN_CATEGORIES " != *" $1 "* ]]; then
        die "unknown category '$1'; the config has: $KNOWN_CATEGORIES"
    fi
}

# The categories of the config the run uses (empty when Python is not at hand: Snakemake checks later).
known_categories() {
    local python="$REPO/.venv/bin/python"
    [[ -x "$python" ]] || python=python3
    local dir="$REPO"
    ((HAS_DIRECTORY)) && dir="."
    config_args
    (cd "$dir" && PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}" "$python" -m slmbench.profile categories \
        "${CONFIG_ARGS[@]}" 2>/dev/null) || true
}

cmd_full() {
    [[ $# -ge 1 ]] || die "full needs 'all' or a category (see --help)"
    local categories=()
    while (($#)) && [[ "$1" != -* ]]; do
        categories+=("$1")
        shift
    done
    parse_passthrough "$@"
    if [[ "${categories[*]}" == "all" ]]; then
        run_snakemake
    else
        KNOWN_CATEGORIES="$(known_categories)"
        for category in "${categories[@]}"; do check_category "$category"; done
        local list
        list="$(IFS=,; echo "${categories[*]}")"
        run_snakemake "categories=[$list]"
    fi
}

# slmbench status with the config the run uses: the profile's config files (--profile) and/or --configfile.
cmd_status() {
    local args=() files=() dir=""
    while (($#)); do
        case "$1" in
            --profile) [[ $# -ge 2 ]] || die "--profile needs a directory"; args+=(--profile "$2"); shift 2; continue ;;
            --profile=*) args+=(--profile "${1#*=}") ;;
            --configfile | --configfiles)
                shift
                while (($#)) && [[ "$1" != -* ]]; do files+=("$1"); shift; done
                continue
                ;;
            --configfile=*) files+=("${1#*=}") ;;
            --directory | -d) [[ $# -ge 2 ]] || die "$1 needs a directory"; dir="$2"; shift 2; continue ;;
            *) die "status takes --profile DIR, --configfile FILE... and --directory DIR, not '$1'" ;;
        esac
        shift
    done
    ((${#args[@]} + ${#files[@]})) || read -r -a files <<<"${SLMBENCH_CONFIG:-config/config.yaml}"
    ((${#files[@]})) && args+=(--configfile "${files[@]}")
    cd "${dir:-$REPO}"
    local python="$REPO/.venv/bin/python"
    [[ -x "$python" ]] || python=python3
    PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}" "$python" -m slmbench.cli status "${args[@]}"
}

cmd_doctor() {
    parse_passthrough "$@"
    ((HAS_DIRECTORY)) || cd "$REPO"
    local python="$REPO/.venv/bin/python"
    [[ -x "$python" ]] || python=python3
    config_args
    PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}" "$python" -m slmbench.cli doctor "${CONFIG_ARGS[@]}"
}

# The menu takes the options the commands take (--profile DIR, --configfile FILE..., and for `full` any
# Snakemake argument): each choice runs with them, so `run_full_benchmark.sh --profile profiles/jetson` on a
# board runs the study under JetPack 6's CUDA interpreter whatever is picked.
menu() {
    local options=("$@")
    parse_passthrough "$@"
    config_args
    local shown="${CONFIG_ARGS[*]:-${SLMBENCH_CONFIG:+--configfile $SLMBENCH_CONFIG}}"
    echo "slmbench: what shall we run? (${shown:-config/config.yaml, the study})"
    PS3="choice: "
    select choice in "doctor (check the board first)" "status (where it stands, ETA)" "full all" "full <category>" "quit"; do
        case "$REPLY" in
            1) cmd_doctor "${options[@]}"; return ;;
            2) cmd_status "${CONFIG_ARGS[@]}"; return ;;
            3) cmd_full all "${options[@]}"; return ;;
            4) read -r -p "categories (space separated): " -a picked; cmd_full "${picked[@]}" "${options[@]}"; return ;;
            5) return 0 ;;
            *) echo "pick 1-5" ;;
        esac
    done
}

main() {
    if (($# == 0)) || [[ "$1" == -* && "$1" != "-h" && "$1" != "--help" ]]; then
        if [[ -t 0 ]]; then
            menu "$@"
            return
        fi
        usage >&2
        exit 2
    fi
    local command="$1"
    shift
    case "$command" in
        -h | --help | help) usage ;;
        full) cmd_full "$@" ;;
        doctor) cmd_doctor "$@" ;;
        status) cmd_status "$@" ;;
        *) usage >&2; die "unknown command '$command'" ;;
    esac
}

main "$@"
