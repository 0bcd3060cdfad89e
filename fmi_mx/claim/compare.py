"""A claim run: the same FMI atlas for several weight sets (an ordinary sweep each, in
``runs/<claim>/<set>/``), then the comparison beside them: ``claim.csv``, ``claim.json``, ``claim.md``,
the figure ``claim.png``/``.pdf`` and the page ``claim.html``.

Per layer and weight set: identity accuracy and MRR with bootstrap intervals over filters, chance and
the label-shuffled control, with two texture descriptors side by side (the inverted network's own, and
the reference set's network for every set); the results left out because their filter did not fire;
colourfulness and structural complexity of the results. For each trained set and each untrained set of
the same network: the difference over the filters both score, with its interval.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .. import files, signals, tables
from ..records import JobRecord
from ..atlas import build as atlas_build
from ..core.image import images
from ..core.network import vgg
from ..core.network import weights as weights_module
from ..errors import FmiError
from ..sweep import experiment, kinds
from ..sweep.config import Experiment, WeightSet
from ..sweep.jobs import expand, folder
from ..sweep import results as results_module
from ..sweep.pool import Report
from . import measures, paper, stats
from .page import ci_text

Log = Callable[[str], None]
#: a claim's measures of each FMI result, and which picture each reads: colourfulness the saved one (what a
#: figure shows; pixel noise would swamp the colour spread), complexity the one before denoising (which turns
#: an untrained network's noise into smooth blobs that any structure measure counts as structure)
MEASURES: Dict[str, Tuple[Callable[[np.ndarray], float], bool]] = {"colourfulness": (measures.colourfulness, False),
                                                                   "complexity": (measures.complexity, True)}
SCORES = ("identity_accuracy", "mean_reciprocal_rank")


@dataclass
class SetResult:
    """One weight set's atlas, gathered for the comparison: per layer, per filter (in filter order)."""

    name: str
    weights: weights_module.Weights
    root: Path  # the set's run folder
    records: Dict[str, JobRecord]  # its finished jobs' records by job id
    jobs: list  # every job of the set
    layers: Dict[str, dict] = field(default_factory=dict)  # layer -> {"filters", "own", "reference", ...}


def run(exp: Experiment, runs: Path, dry_run: bool = False, devices: Optional[List[str]] = None,
        shard: Optional[Tuple[int, int]] = None, retry_diverged: bool = False, rescore: bool = False,
        log: Log = print) -> Optional[Report]:
    """Run each weight set's atlas (resuming, sharding and batching as any run), then the comparison."""
    if not kinds.of(exp.figure).takes_weight_sets:
        raise FmiError(f"{exp.name} is not a claim config (figure: claim with weight_sets)")
    weights = {ws.name: weights_module.resolve(ws.weights or None, ws.network) for ws in exp.weight_sets}
    root = folder(exp, runs)
    total = Report()
    for ws in exp.weight_sets:
        log(f"{exp.name}/{ws.name}: {weights[ws.name].title} ({weights[ws.name].source})")
        report = experiment.run(exp.for_set(ws), root, dry_run=dry_run, devices=devices, shard=shard, log=log,
                                retry_diverged=retry_diverged, rescore=rescore)
        if report is None:
            continue
        _merge(total, report)
        if report.stopped or report.interrupted:
            return total
    if dry_run:
        from ..sweep.jobs import job_cost

        every = [job for ws in exp.weight_sets for job in expand(exp.for_set(ws), weights[ws.name].sha256)]
        flops = 4 * sum(job_cost(job) for job in every)
        log(f"{exp.name}: {len(every)} jobs in {len(exp.weight_sets)} weight sets, at most {flops / 1e15:.2f} PFLOP "
            f"of convolutions in all ({flops / 1e12 / 3600:.1f} h at 1 TFLOP/s sustained)")
        return None
    build(exp, root, weights, log, rescore)
    return total


def _merge(total: Report, report: Report) -> None:
    total.failed.update(report.failed)
    total.unfinished += report.unfinished
    total.diverged += report.diverged
    total.elsewhere += report.elsewhere
    total.workers.update({len(total.workers) + k: v for k, v in report.workers.items()})
    total.interrupted = total.interrupted or report.interrupted
    total.stopped = total.stopped or report.stopped


def reference_set(exp: Experiment, weights: Dict[str, weights_module.Weights]) -> Optional[str]:
    """The set whose network describes every set's textures: the config's ``reference``, else the
    first pretrained set (None: no second descriptor)."""
    if exp.reference:
        return exp.reference
    return next((name for name, w in weights.items() if w.pretrained), None)


def build(exp: Experiment, root: Path, weights: Dict[str, weights_module.Weights], log: Log = print,
          rescore: bool = False) -> Optional[Path]:
    """The comparison from the finished atlases; None (and a line) while a set is unfinished."""
    from ..core.run.engine import Runner

    ref = reference_set(exp, weights)
    ref_runner = Runner(weights[ref], exp.device.split(",")[0].strip()) if ref else None
    results = []
    for ws in exp.weight_sets:
        signals.check()
        result = _gather(exp, ws, root, weights[ws.name], ref_runner, ref, log, rescore)
        if result is None:
            log(f"no comparison yet: the atlas of {ws.name} is not finished; run `fmi-mx claim` again")
            return None
        results.append(result)
    table = rows(results, ref)
    differences = compare_pairs(results)
    document = {"claim": exp.name, "reference_descriptor": ref, "descriptor_layers": list(_descriptor_layers()),
                "bootstrap": {"resamples": stats.BOOTSTRAP, "level": stats.LEVEL, "unit": "filter"},
                "sets": {r.name: r.weights.describe() for r in results}, "rows": table, "differences": differences,
                "dead_results": "left out: a pair counts only when the filter fired on both images"}
    files.write_json(root / "claim.json", document)
    files.write_bytes(root / "claim.csv", tables.csv_bytes(table, COLUMNS))
    files.write_bytes(root / "claim.md", markdown(table, differences, ref).encode())
    from .. import figures
    from . import figure, page

    paths = figures.save(figure.draw(table, f"{exp.name}: texture identity against depth"), root / "claim",
                         ("png", "pdf"))
    page.render(root, exp.name, table, differences, ref, {r.name: r.weights for r in results})
    log(f"{', '.join(map(str, paths))}, {root / 'claim.md'}, {root / 'claim.html'}: the comparison")
    runners = {ref: ref_runner} if ref else {}

    def runner_of(name: str) -> Runner:
        if name not in runners:
            runners[name] = Runner(weights[name], exp.device.split(",")[0].strip())
        return runners[name]

    claims = paper.measure(exp, results, ref_runner, runner_of, log)
    log(f"{paper.write(root, claims, results, exp.name, exp.size)}: the paper's claims")
    return paths[0]


def _descriptor_layers():
    from ..atlas.score import DESCRIPTOR_LAYERS

    return DESCRIPTOR_LAYERS


def _gather(exp: Experiment, ws: WeightSet, root: Path, w: weights_module.Weights, ref_runner, ref: Optional[str],
            log: Log, rescore: bool) -> Optional[SetResult]:
    """One set's per-filter scores (own and reference descriptors) and measures, or None if unfinished."""
    sub = exp.for_set(ws)
    set_root = folder(sub, root)
    jobs = expand(sub, w.sha256)
    records = experiment.finished(set_root, jobs)
    scores_file = set_root / "scores.json"
    if len(records) < len(jobs) or not scores_file.is_file():
        return None
    own = json.loads(scores_file.read_text())["layers"]  # the atlas just checked and wrote it
    grid = atlas_build.grid_of(jobs)
    reference = _reference_scores(set_root, ref_runner, grid, records, ws.name == ref, own, log, rescore, ref,
                                  atlas_build.visuals_of(jobs))
    result = SetResult(ws.name, w, set_root, records, jobs)
    for layer, cell in grid.items():
        contents, by_filter = cell.contents, cell.by_filter
        filters = sorted(by_filter)
        fired = np.array([[records[j].fired(layer) for j in by_filter[k]] for k in filters])
        per_filter = {m: [] for m in MEASURES}
        for k, fired_k in zip(filters, fired):
            done = [set_root / j for j, ok in zip(by_filter[k], fired_k) if ok]
            for m, (f, raw) in MEASURES.items():
                pictures = [results_module.unprocessed(d) if raw else images.read(str(d / "result.png")) for d in done]
                per_filter[m].append(np.nanmean([f(p) for p in pictures]) if pictures else np.nan)
        result.layers[layer] = {
            "filters": filters, "contents": len(contents), "dead_results": int((~fired).sum()),
            "own": _per_filter(own.get(layer, {}), filters), "reference": _per_filter(reference.get(layer, {}), filters),
            "own_summary": own.get(layer, {}).get("summary"), "reference_summary": reference.get(layer, {}).get("summary"),
            **{m: np.asarray(v, np.float64) for m, v in per_filter.items()}}
    return result


def _per_filter(layer_scores: dict, filters: List[int]) -> Dict[str, np.ndarray]:
    """Per filter (in ``filters``' order, NaN where missing): identity accuracy, MRR, and where the atlas has
    visualisations, their agreement with the FMI textures."""
    def column(per: dict, key: str) -> np.ndarray:
        return np.array([np.nan if per.get(str(k), {}).get(key) is None else per[str(k)][key] for k in filters])

    out = {s: column(layer_scores.get("filters", {}), s) for s in SCORES}
    out["agreement_accuracy"] = column(layer_scores.get("agreement", {}).get("filters", {}), "agreement_accuracy")
    return out


def _reference_scores(set_root: Path, ref_runner, grid, records, is_reference: bool, own: dict, log: Log,
                      rescore: bool, ref: Optional[str], visuals) -> dict:
    """The set's score with the reference network's descriptors (the set's own when it is the reference),
    cached in ``scores.reference.json`` against the finished jobs and the reference weights."""
    if ref_runner is None:
        return {}
    if is_reference:
        return own
    digest = f"{atlas_build.jobs_digest(set_root, records)}:{ref_runner.weights.sha256}"
    cache = set_root / "scores.reference.json"
    if cache.is_file() and not rescore:
        try:
            stored = json.loads(cache.read_text())
            if isinstance(stored, dict) and stored.get("digest") == digest:
                return stored["layers"]
        except ValueError:
            pass  # a damaged cache is computed again
    log(f"{set_root.name}: scoring with the descriptors of {ref} ({ref_runner.weights.title})")
    layers = atlas_build.compute(set_root, ref_runner, grid, records, log, visuals)
    files.write_json(cache, {"digest": digest, "reference": ref, "weights": ref_runner.weights.describe(),
                             "layers": layers})
    return layers


def rows(results: List[SetResult], ref: Optional[str]) -> List[dict]:
    """One row per layer and weight set, layers in network order."""
    out = []
    for r in results:
        net = vgg.network(r.weights.network)
        for layer in sorted(r.layers, key=lambda name: net.layer(name).index):
            cell = r.layers[layer]
            summary = cell["own_summary"] or {}
            row = {"layer": layer, "set": r.name, "weights": r.weights.title, "network": r.weights.network,
                   "pretrained": r.weights.pretrained, "filters": len(cell["filters"]), "content_images": cell["contents"],
                   "filters_scored": int(np.sum(~np.isnan(cell["own"]["identity_accuracy"]))),
                   "dead_results": cell["dead_results"], "chance_accuracy": summary.get("chance_accuracy"),
                   "chance_mrr": summary.get("chance_mrr"), "shuffled_accuracy": summary.get("shuffled_accuracy"),
                   "shuffled_mrr": summary.get("shuffled_mrr")}
            for descriptor in DESCRIPTORS:
                for score, short in SCORED:
                    values = cell[descriptor][score]
                    if np.all(np.isnan(values)) or (descriptor == "reference" and ref is None):
                        continue
                    row.update(_interval(f"{descriptor}_{short}", values))
            for m in MEASURES:
                row.update(_interval(m, cell[m]))
            out.append(row)
    return out


def _interval(key: str, values: np.ndarray) -> dict:
    return stats.bootstrap_interval(values).row(key, _finite)


def _finite(value: float) -> Optional[float]:
    return None if value is None or np.isnan(value) else round(float(value), 6)


def compare_pairs(results: List[SetResult]) -> List[dict]:
    """Trained minus untrained, per layer, for every trained and untrained set of the same network,
    over the filters both score (paired), with both descriptors."""
    out = []
    for trained in (r for r in results if r.weights.pretrained):
        for untrained in (r for r in results if r.weights.is_random and r.weights.network == trained.weights.network):
            for layer in trained.layers:
                if layer not in untrained.layers or trained.layers[layer]["filters"] != untrained.layers[layer]["filters"]:
                    continue
                row = {"layer": layer, "trained": trained.name, "untrained": untrained.name}
                for descriptor in ("own", "reference"):
                    for score, short in (("identity_accuracy", "accuracy"), ("agreement_accuracy", "agreement")):
                        a = trained.layers[layer][descriptor][score]
                        b = untrained.layers[layer][descriptor][score]
                        if np.all(np.isnan(a)) or np.all(np.isnan(b)):
                            continue
                        mean, low, high = stats.paired_difference(a, b)
                        row.update({f"{descriptor}_{short}_difference": _finite(mean),
                                    f"{descriptor}_{short}_difference_low": _finite(low),
                                    f"{descriptor}_{short}_difference_high": _finite(high)})
                        if short == "accuracy":
                            row["filters_paired"] = int(np.sum(~np.isnan(a - b)))
                out.append(row)
    return out


DESCRIPTORS = ("own", "reference")  # the inverted network's texture descriptors, and the reference set's
#: a row's scored columns: (the per-filter score it averages, its short name), each written with its interval
SCORED = tuple(zip(SCORES + ("agreement_accuracy",), ("accuracy", "mrr", "agreement")))


COLUMNS = (("layer", "set", "weights", "filters", "filters_scored", "content_images", "dead_results")
           + tuple(k for d in DESCRIPTORS for _, short in SCORED[:2] for k in stats.interval_keys(f"{d}_{short}"))
           + ("chance_accuracy", "chance_mrr", "shuffled_accuracy", "shuffled_mrr")
           + tuple(k for m in MEASURES for k in stats.interval_keys(m))
           + tuple(k for d in DESCRIPTORS for k in stats.interval_keys(f"{d}_{SCORED[2][1]}")))


def markdown(table: List[dict], differences: List[dict], ref: Optional[str]) -> str:
    """The comparison as Markdown tables: per layer and set, then trained minus untrained. Columns for the
    reference's descriptors and the visualisations' agreement appear where there are such numbers."""
    seen = any(row.get("own_agreement") is not None for row in table)
    columns = [("identity accuracy [95% CI]", "own_accuracy", 2), ("MRR [95% CI]", "own_mrr", 2)]
    columns += [(f"accuracy, {ref}'s descriptors", "reference_accuracy", 2)] if ref else []
    columns += [("agreement of visualisations", "own_agreement", 2)] if seen else []
    lines = ["| layer | weights | filters | dead results | " + " | ".join(c[0] for c in columns)
             + " | chance | shuffled | colourfulness | complexity |", "|---" * (8 + len(columns)) + "|"]
    for row in table:
        cells = " | ".join(ci_text(row, key, digits) for _, key, digits in columns)
        lines.append(f"| {row['layer']} | {row['weights']} ({row['set']}) | {row['filters']} | {row['dead_results']} | "
                     f"{cells} | {row['chance_accuracy']:.3f} | {row['shuffled_accuracy']:.2f} | "
                     f"{ci_text(row, 'colourfulness', 1)} | {ci_text(row, 'complexity')} |")
    if differences:
        columns = [("accuracy difference, own descriptors [95% CI]", "own_accuracy_difference")]
        columns += [(f"with {ref}'s descriptors", "reference_accuracy_difference")] if ref else []
        columns += [("agreement difference", "own_agreement_difference")] if seen else []
        lines += ["", "| layer | trained | untrained | filters | " + " | ".join(c[0] for c in columns) + " |",
                  "|---" * (4 + len(columns)) + "|"]
        for d in differences:
            lines.append(f"| {d['layer']} | {d['trained']} | {d['untrained']} | {d.get('filters_paired', '')} | "
                         + " | ".join(ci_text(d, key) for _, key in columns) + " |")
    return "\n".join(lines) + "\n"
