# Prompts: question.jsonl (downloaded at run time for the study), the level spreadsheet (the user's, or
# generated from the questions), one CSV per category, and a token-length report.
import json

Q = config["questions"]
P = config["prompts"]
SPREADSHEET = P["spreadsheet"] if P["source"] == "spreadsheet" else f"{R}/prompts/generated_prompts.xlsx"
TOKEN_REPORT = f"{R}/prompts/token_report.csv"


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
            Q["file"],
        output:
            SPREADSHEET,
        params:
            mode=P["generate_mode"],
            levels=LEVELS,
            # llm mode writes the levels with the judge's endpoint or GGUF (its key stays in the environment);
            # in template mode a judge setting must not count as a change of the prompts (params rerun trigger)
            llm=json.dumps({k: v for k, v in config["judge"].items() if k != "demo_note"})
            if P["generate_mode"] == "llm"
            else "",
        log:
            f"{R}/logs/prompts/generate_prompts.log",
        shell:
            "{SLMBENCH} prompts generate --questions {input:q} --out {output:q} --mode {params.mode:q}"
            " --levels {params.levels:q} --llm-settings={params.llm:q} 2> {log:q}"


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
    log:
        f"{R}/logs/prompts/split_prompts.log",
    shell:
        "{SLMBENCH} prompts convert --excel {input.sheet:q} --outdir {params.outdir:q} --split"
        " --questions {input.questions:q} --levels {params.levels:q} --categories {params.categories:q} > /dev/null"
        " 2> {log:q}"


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
