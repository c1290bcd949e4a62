"""A static results viewer: one self-contained `index.html` (inline CSS and JavaScript, no server, no network).

It shows the validation result, links to the workbooks, sortable tables of the headline numbers (per model x
level and per model), the plots (relative links, so the page stays small and works from the results
folder), and one group per question: each level's prompt, then every model's answer, score and the judge's
reason side by side. Every text from the runs and scores is HTML-escaped (an answer may contain markup or
<script>), and no data is placed inside the script, so nothing a model writes can run.

It reads the runs and scores with the study's checked readers (records.read_run_records, scores.read_score_rows:
a bad line names its file, line and field), shows the scored runs (timing and shard repeats are measurements,
not answers), refuses a run listed twice, and cuts a very long text (an answer or prompt of megabytes would keep
the page from loading) at TEXT_CHARS with a note saying how much more there is and where to read it.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from statistics import mean
from typing import Dict, Iterable, List, Optional, Sequence

from ..errors import UserError
from ..layout import PLOTS, WORKBOOKS, StudyLayout
from ..records import RECORD_KEY, atomic_output, iter_run_records
from ..scores import read_score_rows

DIMENSIONS = ("factuality", "helpfulness", "structure", "conciseness")
LEVEL_ORDER = ("L0", "L1", "L2", "L3", "P")
TEXT_CHARS = 20_000  # shown of one answer, prompt or reason: ten pages, far more than max_tokens=1024 writes


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _float(value) -> Optional[float]:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _mean(values: Iterable[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return mean(present) if present else None


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _cell(value: Optional[float], digits: int = 2) -> str:
    """A numeric table cell; data-v carries the number the sort uses (empty sorts last)."""
    return f'<td data-v="{"" if value is None else value}">{_fmt(value, digits)}</td>'


def _ordered(values: Iterable[str], order: Sequence[str]) -> List[str]:
    seen = list(dict.fromkeys(values))
    return [v for v in order if v in seen] + [v for v in seen if v not in order]


def read_runs(path) -> List[dict]:
    """The scored run records (repeat 0 of the scored measurement), each checked by records.iter_run_records;
    a run listed twice names the file and both lines."""
    runs: List[dict] = []
    seen: Dict[tuple, int] = {}
    for line, record in iter_run_records(path):
        if record.repeat or record.shard_repeat:
            continue  # a timing or shard repeat: measured, never an answer of its own
        key = tuple(getattr(record, k) for k in RECORD_KEY)
        if key in seen:
            raise UserError(f"{path}:{line}: the run {key} is listed twice (also line {seen[key]}); merge the runs "
                            f"again (rule merge_runs) so each run appears once")
        seen[key] = line
        runs.append(asdict(record))
    return runs


def read_scores(path) -> List[dict]:
    """The score rows, each checked by scores.iter_score_rows; none without a scores file."""
    if not path or not Path(path).exists():
        return []
    return [asdict(row) for row in read_score_rows(path)]


def _text(value) -> str:
    """A text for a cell, escaped, cut at TEXT_CHARS with a note of what was left out."""
    text = "" if value is None else str(value)
    if len(text) <= TEXT_CHARS:
        return _e(text)
    return (f'{_e(text[:TEXT_CHARS])}<span class="cut">&hellip; {len(text) - TEXT_CHARS:,} more characters not shown '
            f'(the whole text: exported_responses/, or the runs file)</span>')


class _Verdicts:
    """The ok verdicts of one run, averaged over repeats and judges, with every judge's reason."""

    def __init__(self, rows: List[dict]):
        ok = [r for r in rows if r.get("judge_status", "ok") == "ok" and _float(r.get("total_score")) is not None]
        self.total = _mean(_float(r.get("total_score")) for r in ok)
        self.dims = {d: _mean(_float(r.get(d)) for r in ok) for d in DIMENSIONS}
        self.reasons = [((r.get("judge_name") or r.get("judge_model") or ""), r.get("reason") or "") for r in ok]
        self.problems = sorted({r.get("judge_status") for r in rows if r.get("judge_status") not in (None, "", "ok")})


def _run_key(row: dict) -> tuple:
    """(model, level, question, variant, power mode) of a run or score row (records.RECORD_KEY); no variant reads
    as 0, no power mode (an empty CSV cell, a null) as None."""
    mode = row.get("power_mode_id")
    return (row["model_id"], row["level"], int(row["question_id"]), int(row.get("variant") or 0),
            int(mode) if mode not in (None, "") else None)


def _index_scores(scores: List[dict]) -> Dict[tuple, _Verdicts]:
    grouped: Dict[tuple, List[dict]] = defaultdict(list)
    for row in scores:
        try:
            key = _run_key(row)
        except (KeyError, TypeError, ValueError):
            continue
        grouped[key].append(row)
    return {key: _Verdicts(rows) for key, rows in grouped.items()}


def _headline_rows(runs: List[dict], verdicts: Dict[tuple, _Verdicts], keys: List[tuple], by) -> List[str]:
    rows = []
    for key in keys:
        mine = [r for r in runs if by(r) == key]
        ok = [r for r in mine if r.get("status") == "ok"]
        quality = _mean(verdicts[k].total for r in ok
                        if (k := _run_key(r)) in verdicts)
        energy = _mean(_float(r.get("energy_j")) for r in ok)
        latency = _mean(_float(r.get("latency_ms")) for r in ok)
        cells = "".join(f"<td>{_e(part)}</td>" for part in key)
        rows.append(
            f"<tr>{cells}{_cell(quality)}"
            f"{_cell(None if latency is None else latency / 1000)}{_cell(energy, 3)}"
            f"{_cell(_mean(_float(r.get('completion_tokens')) for r in ok), 0)}"
            f"{_cell(_mean(_float(r.get('prompt_tokens')) for r in ok), 0)}"
            f"{_cell(None if not (quality and energy) else quality / energy, 3)}"
            f'<td data-v="{len(mine) - len(ok)}">{len(mine) - len(ok)}</td></tr>')
    return rows


def _headline_table(table_id: str, key_names: Sequence[str], rows: List[str]) -> str:
    heads = [*key_names, "quality (0-10)", "latency (s)", "energy (J)", "completion tokens", "prompt tokens",
             "quality per J", "errors"]
    ths = "".join(f'<th data-col="{i}" tabindex="0" title="click to sort">{_e(h)}</th>' for i, h in enumerate(heads))
    return (f'<table class="sortable" id="{table_id}"><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _answer_cell(run: Optional[dict], verdict: Optional[_Verdicts]) -> str:
    if run is None:
        return '<td class="missing">no run</td>'
    if run.get("status") != "ok":
        return f'<td class="error"><b>error</b><div class="text">{_text(run.get("error"))}</div></td>'
    score = verdict.total if verdict else None
    badge = f'<span class="score" data-v="{"" if score is None else score}">{_fmt(score, 1)}/10</span>'
    dims = ""
    if verdict and any(v is not None for v in verdict.dims.values()):
        dims = " ".join(f"{d[:4]} {_fmt(v, 1)}" for d, v in verdict.dims.items())
        dims = f'<span class="dims">{_e(dims)}</span>'
    problems = f' <span class="warn">{_e(", ".join(verdict.problems))}</span>' if verdict and verdict.problems else ""
    facts = (f'{_fmt(_float(run.get("latency_ms")), 0)} ms, {_e(run.get("prompt_tokens"))}&rarr;'
             f'{_e(run.get("completion_tokens"))} tokens, energy {_fmt(_float(run.get("energy_j")), 3)} J')
    reasons = "".join(f'<div class="reason">{_e(name + ": " if len(verdict.reasons) > 1 else "")}{_text(text)}</div>'
                      for name, text in (verdict.reasons if verdict else []))
    return (f'<td>{badge} {dims}{problems}<div class="facts">{facts}</div>'
            f'<div class="text answer">{_text(run.get("output"))}</div>{reasons}</td>')


def _modes(runs: List[dict]) -> Dict[Optional[int], str]:
    """power_mode_id -> its name (jetson.mode_label), in id order; one entry for a study of one mode."""
    from ..jetson import mode_label

    names = {_run_key(r)[4]: mode_label(r.get("power_mode"), r.get("power_mode_id")) for r in runs}
    return dict(sorted(names.items(), key=lambda item: -1 if item[0] is None else item[0]))


def _questions(runs: List[dict], verdicts: Dict[tuple, _Verdicts], models: List[str], levels: List[str]) -> str:
    by_key = {_run_key(r): r for r in runs}
    questions: Dict[int, str] = {}
    for r in runs:
        questions.setdefault(int(r["question_id"]), r.get("category") or "")
    variants = sorted({key[3] for key in by_key})
    modes = _modes(runs)
    head = "".join(f"<th>{_e(m)}</th>" for m in models)
    groups = []
    for qid in sorted(questions):
        rows = [f'<tr class="qhead"><th colspan="{len(models) + 2}" id="q{qid}">Q{qid} &middot; '
                f'{_e(questions[qid])}</th></tr>']
        for level, v, mode in ((level, v, mode) for level in levels for v in variants for mode in modes):
            keys = [(m, level, qid, v, mode) for m in models]
            prompt = next((by_key[k].get("prompt") for k in keys if k in by_key), None)
            cells = "".join(_answer_cell(by_key.get(k), verdicts.get(k)) for k in keys)
            label = f"{level} v{v}" if len(variants) > 1 else level  # which wording, where there are several
            label += f" {modes[mode]}" if len(modes) > 1 else ""  # which power mode, where there are several
            rows.append(f'<tr><th class="level">{_e(label)}</th><td class="prompt"><div class="text">{_text(prompt)}'
                        f'</div></td>{cells}</tr>')
        groups.append(f'<tbody class="question" data-qid="{qid}" data-category="{_e(questions[qid])}">'
                      f'{"".join(rows)}</tbody>')
    return (f'<table id="questions"><thead><tr><th>level</th><th>prompt</th>{head}</tr></thead>'
            f'{"".join(groups)}</table>')


def _link(target: str, out_dir: Path) -> str:
    return _e(os.path.relpath(target, out_dir).replace(os.sep, "/"))


def _validation(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return '<p class="warn">No validation yet (validation.txt not written).</p>'
    result = next((line for line in reversed(text.splitlines()) if line.startswith("RESULT:")), "RESULT: unknown")
    kind = "fail" if "FAIL" in result else "pass"
    return (f'<p class="{kind}" id="validation-result">{_e(result)}</p>'
            f'<details><summary>all checks</summary><pre>{_e(text)}</pre></details>')


def render_index_html(runs: List[dict], scores: List[dict], layout: StudyLayout, out_dir: Path,
                      title: str = "slmbench results", levels: Optional[Sequence[str]] = None,
                      note: Optional[str] = None) -> str:
    verdicts = _index_scores(scores)
    models = list(dict.fromkeys(r["model_id"] for r in runs))
    levels = _ordered((r["level"] for r in runs), levels or LEVEL_ORDER)
    workbooks = [name for name in WORKBOOKS if Path(layout.workbook(name)).exists()]
    links = " &middot; ".join(f'<a href="{_link(layout.workbook(n), out_dir)}">{_e(n)}.xlsx</a>' for n in workbooks)
    for extra, label in ((layout.summary, "summary.md"), (layout.export_csv, "all_responses.csv")):
        if Path(extra).exists():
            links += f' &middot; <a href="{_link(extra, out_dir)}">{label}</a>'
    plots = [layout.plot(name) for name in PLOTS if Path(layout.plot(name)).exists()]
    figures = "".join(f'<figure><a href="{_link(p, out_dir)}"><img src="{_link(p, out_dir)}" alt="{_e(Path(p).stem)}" '
                      f'loading="lazy"></a><figcaption>{_e(Path(p).stem.replace("_", " "))}</figcaption></figure>'
                      for p in plots)
    modes = _modes(runs)
    if len(modes) > 1:  # several power modes: the headline per (model, level, mode)
        by_level = _headline_rows(runs, verdicts, [(m, lv, modes[k]) for m in models for lv in levels for k in modes],
                                  lambda r: (r["model_id"], r["level"], modes[_run_key(r)[4]]))
        level_keys, factors = ["model", "level", "power mode"], f" &times; {len(modes)} power modes"
    else:
        by_level = _headline_rows(runs, verdicts, [(m, lv) for m in models for lv in levels],
                                  lambda r: (r["model_id"], r["level"]))
        level_keys, factors = ["model", "level"], ""
    by_model = _headline_rows(runs, verdicts, [(m,) for m in models], lambda r: (r["model_id"],))
    n_questions = len({int(r["question_id"]) for r in runs})
    note_html = f'<p class="note">{_e(note)}</p>' if note else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>
<p>{len(runs)} runs: {len(models)} models &times; {len(levels)} levels &times; {n_questions} questions{factors}.</p>
{note_html}
<h2>Validation</h2>
{_validation(layout.validation)}
<h2>Files</h2>
<p>{links or "No workbooks yet."}</p>
<h2>Per model and level</h2>
{_headline_table("headline", level_keys, by_level)}
<h2>Per model</h2>
{_headline_table("by-model", ["model"], by_model)}
<h2>Plots</h2>
<div class="plots">{figures or "<p>No plots yet.</p>"}</div>
<h2>Questions</h2>
<p><label>Filter: <input id="filter" type="search" placeholder="text, category or Q81"></label>
<span id="shown"></span></p>
{_questions(runs, verdicts, models, levels)}
<script>{SCRIPT}</script>
</body></html>
"""


def write_index_html(runs_path, scores_path, results_dir, out_path, *, title: str = "slmbench results",
                     levels: Optional[Sequence[str]] = None, note: Optional[str] = None) -> Path:
    """Write the viewer for these runs and scores; the plots, workbooks and validation are looked up under
    `results_dir` (by the study's layout) and linked relative to `out_path`."""
    runs = read_runs(runs_path)
    layout = StudyLayout(results_dir=str(results_dir).rstrip("/"), prompts_dir="", models_dir="")
    out = Path(out_path)
    page = render_index_html(runs, read_scores(scores_path), layout, out.resolve().parent, title, levels, note)
    # relative links are computed from the page's folder: resolve the results dir the same way
    with atomic_output(out) as fh:
        fh.write(page)
    return out


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
table.sortable th{cursor:pointer;background:#f3f3f3;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
table.sortable td[data-v]{text-align:right}
#questions td{min-width:16em;max-width:36em}
.text{white-space:pre-wrap;word-break:break-word;max-height:18em;overflow:auto}
.answer{background:#fafafa;border-left:3px solid #9bd;padding:2px 6px;margin:4px 0}
.reason{color:#555;font-style:italic}
.facts,.dims{color:#666;font-size:12px}
.score{font-weight:bold}
.qhead th{background:#e8eef8}
.error{background:#fee}
.warn,.fail{color:#b00;font-weight:bold}
.pass{color:#070;font-weight:bold}
.note{background:#ffd;padding:4px}
.cut{color:#b60;font-style:italic}
.plots{display:flex;flex-wrap:wrap;gap:1em}
.plots img{max-width:480px}
"""

# Sorting (click a header; a #sort=<table>:<column>:<asc|desc> link sorts on load) and the question filter.
SCRIPT = """
(function () {
  function value(td) {
    if (td.hasAttribute('data-v')) {
      var v = td.getAttribute('data-v');
      return v === '' ? null : parseFloat(v);
    }
    return td.textContent;
  }
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[col]), y = value(b.cells[col]);
      if (x === null) return y === null ? 0 : 1;
      if (y === null) return -1;
      var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return dir === 'descending' ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute('aria-sort'); });
    table.tHead.rows[0].cells[col].setAttribute('aria-sort', dir);
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      function click() {
        sortTable(table, col, th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending');
      }
      th.addEventListener('click', click);
      th.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') click(); });
    });
  });
  var m = /sort=([\\w-]+):(\\d+):(asc|desc)/.exec(location.hash);
  if (m && document.getElementById(m[1])) {
    sortTable(document.getElementById(m[1]), parseInt(m[2], 10), m[3] === 'asc' ? 'ascending' : 'descending');
  }
  var groups = document.querySelectorAll('tbody.question');
  var input = document.getElementById('filter'), shown = document.getElementById('shown');
  function filter() {
    var q = input.value.trim().toLowerCase(), n = 0;
    groups.forEach(function (g) {
      var hit = !q || g.textContent.toLowerCase().indexOf(q) >= 0;
      g.hidden = !hit;
      if (hit) n += 1;
    });
    shown.textContent = n + ' of ' + groups.length + ' questions shown';
  }
  input.addEventListener('input', filter);
  filter();
  document.documentElement.setAttribute('data-viewer', 'ready');
})();
"""


def _cmd_viewer(args) -> int:
    from ..locks import writing_into_study

    with writing_into_study(args.out, "viewer"):  # a study another run holds is refused (slmbench.locks)
        out = write_index_html(args.runs, args.scores, args.results_dir, args.out, title=args.title, note=args.note)
    print(f"slmbench: wrote {out}; open it in a browser (no server needed)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("viewer", help="write the static results viewer (index.html): every question's "
                                                  "answers and scores per level and model, headline tables, plots")
    parser.add_argument("--runs", required=True, help="the merged runs (runs_llamacpp.jsonl)")
    parser.add_argument("--scores", help="the merged judge scores (scores_absolute.csv); without it no scores")
    parser.add_argument("--results-dir", dest="results_dir", required=True,
                        help="the study's results folder, where the plots, workbooks and validation.txt are")
    parser.add_argument("--out", required=True, help="the page to write (the study's: <results_dir>/index.html)")
    parser.add_argument("--title", default="slmbench results", help="the page's title")
    parser.add_argument("--note", help="a note shown under the title (e.g. the demo's: its scores mean nothing)")
    parser.set_defaults(func=_cmd_viewer)
