"""A demo-shaped study on disk for the status and redo tests: a full config, real shard files written with
slmbench.records, score CSVs, Snakemake benchmark TSVs, a real judge cache and the report files."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from slmbench.layout import PLOTS, WORKBOOKS, StudyLayout
from slmbench.records import RunRecord, write_jsonl

REPO = Path(__file__).resolve().parents[1]
MODELS = ("alpha", "beta")
LEVELS = ("L0", "L1", "L2", "L3", "P")
CATEGORIES = ("writing", "math")
QUESTIONS = {"writing": (81, 82), "math": (111, 112)}


def write_config(work: Path, **judge) -> Path:
    """config/study.yaml: the demo config with two models, two categories, an HTTP judge with prices."""
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    config["results_dir"] = "results"
    config["prompts"]["csv_dir"] = "data"
    config["categories"] = list(CATEGORIES)
    model = config["models"][0]
    # deep copies: yaml.safe_dump writes one object met twice as an alias, which a config refuses
    config["models"] = [{**copy.deepcopy(model), "id": name, "file": f"{name}.gguf"} for name in MODELS]
    config["judge"].update({"backend": "openai", "model": "gpt-4o", "model_path": None, "chat_format": None,
                            "price_per_mtok": {"input": 2.5, "output": 10.0}, "cache": "results/judge_cache.sqlite",
                            "max_tokens": 200, **judge})
    path = work / "config" / "study.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def layout() -> StudyLayout:
    return StudyLayout(results_dir="results", prompts_dir="data", models_dir="models")


def write_prompts(work: Path) -> None:
    import csv

    for category, qids in QUESTIONS.items():
        path = work / layout().prompts_csv(category)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["question_id", "category", "level", "prompt"])
            for level in LEVELS:
                for qid in qids:
                    writer.writerow([qid, category, level, f"Question {qid} at {level}"])


def write_shard(work: Path, model: str, level: str, category: str, errors: int = 0, energy: bool = True,
                latency_ms: float = 2000.0) -> Path:
    records = []
    for i, qid in enumerate(QUESTIONS[category]):
        rec = RunRecord(model_id=model, model_file=f"{model}.gguf", model_sha256=None, quant="Q4_K_M", level=level,
                        question_id=qid, category=category, prompt=f"Question {qid} at {level}",
                        output=f"Answer {qid}", prompt_tokens=40, completion_tokens=100, latency_ms=latency_ms,
                        energy_j=3.5 if energy else None, energy_note=None if energy else "no power sensor")
        if i < errors:
            rec.status, rec.error, rec.output = "error", "llama_decode returned -3; out of memory", None
        records.append(rec.__dict__.copy())
    path = work / layout().shard(model, level, category)
    write_jsonl(path, records)
    return path


def write_benchmark(work: Path, model: str, level: str, category: str, seconds: float) -> None:
    """The TSV Snakemake's `benchmark:` directive writes for a job."""
    path = work / layout().benchmark(f"inference/{model}/{level}/{category}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                    f"{seconds:.4f}\t0:01:00\t500.1\t900.2\t400.0\t410.0\t1.0\t0.5\t90.0\t55.0\n")


def write_scores(work: Path, model: str, level: str, category: str) -> Path:
    path = work / layout().scores(model, level, category)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["question_id,category,model_id,level,total_score,judge_status,reason"]
    lines += [f"{qid},{category},{model},{level},7.5,ok,fine" for qid in QUESTIONS[category]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_reports(work: Path) -> list[Path]:
    """Every merged and report file, as a finished run leaves them."""
    lay = layout()
    files = [lay.runs, lay.scores_merged, lay.judge_agreement, lay.summary, lay.validation, lay.export_csv,
             lay.index_html] + [lay.workbook(n) for n in WORKBOOKS] + [lay.plot(n) for n in PLOTS]
    paths = []
    for name in files:
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
        paths.append(path)
    return paths
