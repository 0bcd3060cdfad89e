"""The paper's results section, claim by claim, measured on a claim run's weight sets: one headline number
per claim and set with its bootstrap interval, whether it holds there, and a verdict comparing trained
with untrained weights; per-layer details beneath. Written as ``claims.json`` and ``claims.md``.

(a) every filter extracts a specific texture: identity accuracy over every inverted filter, against chance;
(b) colour and local structure grow richer with depth: colourfulness and complexity of the FMI results,
    deepest inverted layer minus shallowest;
(c) random re-mixing changes mainly colour low and mainly structure high: between two draws of a layer,
    the colour distance's share of colour plus structure distance, first two layers minus last two;
(d) higher layers keep less of the content: SSIM of a random re-mixing's result with its content, shallowest
    layer minus deepest;
(e) PMCI results share their style as Gram results do: how often a result's nearest style image (Gram
    descriptors of the reference network) is its own, PMCI beside Gram;
(f) the energy over channels tells same style from different: the ROC AUC of channel sums on crops of
    the same against different paintings, beside Gram matrices and a colour histogram.
Measures come from ``measures.py`` (pictures) and ``stats.py`` (intervals), on results before denoising.
"""
import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import files, signals, tables
from ..atlas import texture
from ..atlas.score import cross_distances, descriptor
from ..atlas.style import channel_means
from ..core.objectives import codes
from ..core.image import images
from ..core.network import vgg
from ..core.tasks import STYLE_MODES
from ..sweep.results import unprocessed
from . import measures, stats

Log = Callable[[str], None]
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CROPS_PER_PAINTING = 8
PAINTING_SCALE = 4  # a painting is resized to this many crop sizes on its long edge before cropping
EDGE_LAYERS = 2  # (c) compares the first two layers of the random panel with its last two
DRAW_COLUMNS = ("colour", "structure", "colour_to_content", "structure_to_content")
#: how a style is judged: Gram descriptors (Gatys' texture) and channel means (PMCI's statistic)
JUDGES = {"gram_descriptor": descriptor, "channel_sum_descriptor": channel_means}


@dataclass(frozen=True)
class Finding:
    """One claim on one weight set: the headline number, its interval, and whether it holds there."""

    value: Optional[float]
    low: Optional[float] = None
    high: Optional[float] = None
    holds: Optional[bool] = None  # None: not measured on this set
    note: str = ""

    @classmethod
    def of(cls, interval: stats.Interval, holds_if: Callable[[float, float], bool], note: str = ""):
        if np.isnan(interval.mean):
            return cls(None, note="nothing to measure")
        return cls(round(interval.mean, 4), round(interval.low, 4), round(interval.high, 4),
                   bool(holds_if(interval.low, interval.high)), note)


@dataclass(frozen=True)
class Claim:
    key: str
    claim: str
    measure: str
    findings: Dict[str, Finding]
    details: List[dict] = field(default_factory=list)


def measure(exp, results, reference_runner, runner_of: Callable[[str], object], log: Log = print) -> List[Claim]:
    """Every claim on every set of a claim run (``results``: its ``SetResult``s)."""
    draws = {r.name: random_draws(r) for r in results}
    claims = [identity(results), *depth(results), remixing(results, draws), content_kept(results, draws)]
    claims.append(style_identity(results, reference_runner))
    claims.append(style_energy(results, paintings(exp), exp.size, runner_of, log))
    return claims


def identity(results) -> Claim:
    findings, details = {}, []
    for r in results:
        accuracies, chances = [], []
        for layer, cell in r.layers.items():
            accuracies.extend(cell["own"]["identity_accuracy"])
            chances.append((cell["own_summary"] or {}).get("chance_accuracy", np.nan))
        chance = float(np.nanmean(chances)) if chances else np.nan
        findings[r.name] = Finding.of(stats.bootstrap_interval(accuracies), lambda low, high: low > chance,
                                      f"chance {chance:.3f}")
    return Claim("a", "Every filter extracts a specific texture",
                 "identity accuracy: how often a filter's texture from one content picture is nearest its own texture "
                 "from another (Gram descriptors), over every inverted filter; holds above chance", findings, details)


def depth(results) -> List[Claim]:
    out = []
    for key, name, label in (("b", "colourfulness", "colour"), ("b", "complexity", "local structure")):
        findings, details = {}, []
        for r in results:
            layers = _in_order(r, r.layers)
            for layer in layers:
                details.append({"set": r.name, "layer": layer, **_interval_row(name, r.layers[layer][name])})
            if len(layers) < 2:
                findings[r.name] = Finding(None, note="needs two inverted layers")
                continue
            findings[r.name] = Finding.of(stats.difference(r.layers[layers[-1]][name], r.layers[layers[0]][name]),
                                          lambda low, high: low > 0, f"{layers[-1]} minus {layers[0]}")
        what = ("Hasler-Süsstrunk colourfulness" if name == "colourfulness" else
                "complexity (spectral order x orientation variety: 0 for noise and for stripes)")
        out.append(Claim(key, f"{label.capitalize()} grows richer with depth",
                         f"{what} of the FMI results, deepest inverted layer minus shallowest; holds above 0",
                         findings, details))
    return out


def draw_distances(draws: Sequence[np.ndarray], content: np.ndarray) -> Dict[str, List[float]]:
    """Colour and structure distances between every two draws of one layer, and of each draw to the content
    (a picture of the draws' size)."""
    out = {"colour": [], "structure": [], "colour_to_content": [], "structure_to_content": []}
    for a, b in itertools.combinations(draws, 2):
        out["colour"].append(measures.colour_distance(a, b))
        out["structure"].append(measures.structure_distance(a, b))
    for a in draws:
        out["colour_to_content"].append(measures.colour_distance(a, content))
        out["structure_to_content"].append(measures.structure_distance(a, content))
    return out


def colour_share(colour: Sequence[float], structure: Sequence[float]) -> np.ndarray:
    """Per pair of draws, the colour distance's share of colour plus structure distance."""
    c, s = np.asarray(colour, np.float64), np.asarray(structure, np.float64)
    return c / np.maximum(c + s, 1e-12)


def random_draws(r) -> Dict[str, Dict[str, List[float]]]:
    """Per layer of a set's random panels: the distances of ``draw_distances`` over every content picture,
    and each draw's SSIM with its content."""
    groups: Dict[Tuple[str, str], List[np.ndarray]] = {}
    for job in r.jobs:
        change = codes.MODIFICATIONS.get(getattr(job.task, "mode", None))
        if change is not None and change.draws and job.id in r.records:
            groups.setdefault((job.task.layers[0], job.task.content), []).append(_picture(r, job.id))
    by_layer: Dict[str, Dict[str, List[float]]] = {}
    sized: Dict[Tuple[str, tuple], np.ndarray] = {}  # each content picture read and resized once
    for (layer, content), draws in groups.items():
        shape = draws[0].shape[:2]
        if (content, shape) not in sized:
            sized[content, shape] = images.resize(images.read(content), shape)
        picture = sized[content, shape]
        found = draw_distances(draws, picture)
        found["content_ssim"] = [measures.content_ssim(d, picture) for d in draws]
        cell = by_layer.setdefault(layer, {k: [] for k in found})
        for k, v in found.items():
            cell[k].extend(v)
    return {layer: by_layer[layer] for layer in _in_order(r, by_layer)}


def remixing(results, draws: Dict[str, Dict[str, Dict[str, List[float]]]]) -> Claim:
    findings, details = {}, []
    for r in results:
        by_layer = draws[r.name]
        layers = list(by_layer)
        for layer in layers:
            cell = by_layer[layer]
            share = colour_share(cell["colour"], cell["structure"])
            details.append({"set": r.name, "layer": layer, "pairs": len(share),
                            **{k: round(float(np.mean(cell[k])), 4) for k in DRAW_COLUMNS},
                            **_interval_row("colour_share", share)})
        if len(layers) < 2 * EDGE_LAYERS:
            findings[r.name] = Finding(None, note=f"needs {2 * EDGE_LAYERS} layers of random draws")
            continue
        low_layers, high_layers = layers[:EDGE_LAYERS], layers[-EDGE_LAYERS:]
        shares = [np.concatenate([colour_share(by_layer[l]["colour"], by_layer[l]["structure"]) for l in group])
                  for group in (low_layers, high_layers)]
        findings[r.name] = Finding.of(stats.difference(*shares), lambda low, high: low > 0,
                                      f"{'+'.join(low_layers)} minus {'+'.join(high_layers)}")
    return Claim("c", "Random re-mixing changes mainly colour low and mainly structure high",
                 "between two draws of a layer: colour distance (Hellinger, colour histograms) over colour plus "
                 "structure distance (1 - edge correlation); first two layers minus last two; holds above 0",
                 findings, details)


def content_kept(results, draws: Dict[str, Dict[str, Dict[str, List[float]]]]) -> Claim:
    findings, details = {}, []
    for r in results:
        by_layer = draws[r.name]
        layers = list(by_layer)
        for layer in layers:
            details.append({"set": r.name, "layer": layer, "draws": len(by_layer[layer]["content_ssim"]),
                            **_interval_row("content_ssim", by_layer[layer]["content_ssim"])})
        if len(layers) < 2:
            findings[r.name] = Finding(None, note="needs random draws at two layers")
            continue
        findings[r.name] = Finding.of(stats.difference(by_layer[layers[0]]["content_ssim"],
                                                       by_layer[layers[-1]]["content_ssim"]),
                                      lambda low, high: low > 0, f"{layers[0]} minus {layers[-1]}")
    return Claim("d", "Higher layers keep less of the content's detail",
                 "SSIM of the luminance of a random re-mixing's result with its content picture, shallowest layer "
                 "minus deepest; holds above 0", findings, details)


def style_identity(results, reference_runner) -> Claim:
    """(e): each style transfer's nearest style image by the reference network's Gram descriptors."""
    findings, details = {}, []
    for r in results:
        correct: Dict[str, List[float]] = {}
        styled = [job for job in r.jobs if job.task.mode in STYLE_MODES and job.id in r.records]
        styles = sorted({job.task.style for job in styled})
        if reference_runner is None or len(styles) < 2:
            findings[r.name] = Finding(None, note="needs style transfers of two or more styles and trained weights")
            continue
        results_found = texture.statistics(reference_runner, [_picture(r, job.id) for job in styled], STYLE_LAYERS,
                                           JUDGES)
        style_pictures = {s: images.read(s) for s in styles}
        by_shape: Dict[tuple, Dict[str, List[np.ndarray]]] = {}  # the styles' statistics at each result's size
        for n, job in enumerate(styled):
            signals.check()
            shape = r.records[job.id].image_size
            if tuple(shape) not in by_shape:
                resized = [images.resize(style_pictures[s], tuple(shape)) for s in styles]
                by_shape[tuple(shape)] = texture.statistics(reference_runner, resized, STYLE_LAYERS, JUDGES)
            for name, found in results_found.items():
                d = cross_distances([x[n:n + 1] for x in found], by_shape[tuple(shape)][name])
                nearest = styles[int(np.argmin(d[0]))]
                correct.setdefault(f"{job.task.mode}:{name}", []).append(float(nearest == job.task.style))
        for key, values in sorted(correct.items()):
            mode, name = key.split(":")
            details.append({"set": r.name, "loss": mode, "judged_by": name, "results": len(values),
                            **_interval_row("style_identity", values)})
        chance = 1.0 / len(styles)
        pmci, gram = correct.get("pmci:gram_descriptor", []), correct.get("gram:gram_descriptor", [])
        gram_text = "Gram {:.2f} [{:.2f}, {:.2f}]".format(*stats.bootstrap_interval(gram)) if gram else "no Gram results"
        findings[r.name] = Finding.of(stats.bootstrap_interval(pmci), lambda low, high: low > chance,
                                      f"{gram_text}; chance {chance:.2f}")
    return Claim("e", "PMCI results of one style share that style, as Gram results do",
                 "share of PMCI results whose nearest style image (Gram descriptors of the reference network, "
                 "relu1_1..relu5_1) is their own, beside the Gram loss's; holds above chance", findings, details)


def paintings(exp) -> List[str]:
    """The style pictures of a claim's style-transfer panels, in order, each once."""
    out = []
    for panel in exp.panels:
        if panel is not None and panel.mode in STYLE_MODES:
            out += [exp.image(s) for s in panel.styles if exp.image(s) not in out]
    return out


def crops(picture: np.ndarray, size: int, count: int, seed: int) -> List[np.ndarray]:
    """``count`` square crops of ``size`` px at random places of ``picture`` resized to PAINTING_SCALE x size."""
    scaled = images.resize_long_edge(picture, PAINTING_SCALE * size)
    rng = np.random.default_rng(seed)
    h, w = scaled.shape[:2]
    tops, lefts = rng.integers(0, h - size + 1, count), rng.integers(0, w - size + 1, count)
    return [scaled[t:t + size, l:l + size] for t, l in zip(tops, lefts)]


def pair_auc(d: np.ndarray, labels: np.ndarray, seed: int = 0, resamples: int = stats.BOOTSTRAP) -> stats.Interval:
    """ROC AUC of a distance matrix ``d`` between crops (label: their painting) for same against different
    painting, with a bootstrap interval resampling crops within each painting."""
    def auc(*members: np.ndarray, axis: int = -1) -> float:
        index = np.concatenate(members).astype(int)
        i, j = np.triu_indices(index.size, 1)
        i, j = index[i], index[j]
        keep = i != j  # a crop drawn twice is not a pair
        same = labels[i[keep]] == labels[j[keep]]
        values = d[i[keep], j[keep]]
        return stats.roc_auc(values[~same], values[same])

    members = tuple(np.flatnonzero(labels == k).astype(float) for k in np.unique(labels))
    return stats.percentile_interval(members, auc, seed, resamples, vectorized=False)


def style_energy(results, painting_paths: Sequence[str], size: int, runner_of, log: Log) -> Claim:
    """(f): same against different painting, told by channel sums, Gram matrices and colour histograms."""
    findings, details = {}, []
    if len(painting_paths) < 2:
        return Claim("f", "The energy over channels tells whether two images share a style",
                     "needs style transfers of two or more paintings", {r.name: Finding(None) for r in results})
    pieces, labels = [], []
    for k, path in enumerate(painting_paths):
        pieces += crops(images.read(path), size, CROPS_PER_PAINTING, seed=k)
        labels += [k] * CROPS_PER_PAINTING
    labels = np.asarray(labels)
    colour_auc = pair_auc(measures.colour_distances(pieces), labels)
    for r in results:
        log(f"{r.name}: same against different painting on {len(pieces)} crops")
        runner = runner_of(r.name)
        by_statistic = {}
        found = texture.statistics(runner, pieces, STYLE_LAYERS, {"channel_sums": channel_means, "gram": descriptor})
        for name, per_layer in found.items():
            layer_d = [cross_distances([x], [x]) for x in per_layer]
            by_statistic[name] = pair_auc(sum(layer_d), labels)
            for layer, d in zip(STYLE_LAYERS, layer_d):
                details.append({"set": r.name, "descriptor": name, "layer": layer, **_row("auc", pair_auc(d, labels))})
            details.append({"set": r.name, "descriptor": name, "layer": "all", **_row("auc", by_statistic[name])})
        details.append({"set": r.name, "descriptor": "colour_histogram", "layer": "-", **_row("auc", colour_auc)})
        gram = by_statistic["gram"]
        findings[r.name] = Finding.of(by_statistic["channel_sums"], lambda low, high: low > 0.5,
                                      f"Gram {gram.mean:.2f} [{gram.low:.2f}, {gram.high:.2f}]; colour histogram "
                                      f"{colour_auc.mean:.2f}")
    return Claim("f", "The energy over channels tells whether two images share a style",
                 f"ROC AUC, same against different painting, of the channel-sum distance (relu1_1..relu5_1) between "
                 f"{size}-px crops of {len(painting_paths)} paintings ({CROPS_PER_PAINTING} each); holds above 0.5",
                 findings, details)


def verdict(claim: Claim, trained: Sequence[str], untrained: Sequence[str]) -> str:
    """Where the claim holds, trained against untrained weights, in a sentence."""
    holds = {name: f.holds for name, f in claim.findings.items()}
    t = [n for n in trained if holds.get(n) is not None]
    u = [n for n in untrained if holds.get(n) is not None]
    if not t:
        return "not measured on trained weights"
    t_yes, u_yes = [n for n in t if holds[n]], [n for n in u if holds[n]]
    if not t_yes:
        return "does not hold on trained weights"
    where = "holds on trained weights" if len(t_yes) == len(t) else f"holds on {', '.join(t_yes)} only"
    if not u:
        return where
    if u_yes:
        stronger = all(claim.findings[a].low > claim.findings[b].high for a in t_yes for b in u_yes)
        if stronger:
            return f"{where}, and on untrained weights too, but more strongly trained (intervals apart)"
        return f"{where}, and on untrained weights too: the architecture gives it, not training"
    return f"{where}, not on untrained weights: it comes with training"


def write(root: Path, claims: List[Claim], results, name: str = "", size: int = 0) -> Path:
    """``claims.json`` and ``claims.md`` in the claim's folder."""
    trained = [r.name for r in results if r.weights.pretrained]
    untrained = [r.name for r in results if r.weights.is_random]
    rows = []
    for c in claims:
        rows.append({"key": c.key, "claim": c.claim, "measure": c.measure, "verdict": verdict(c, trained, untrained),
                     "findings": {name: asdict(f) for name, f in c.findings.items()}, "details": c.details})
    sets = {r.name: r.weights.describe() for r in results}
    files.write_json(root / "claims.json", {"sets": sets, "claims": rows,
                                            "bootstrap": {"resamples": stats.BOOTSTRAP, "level": stats.LEVEL}})
    files.write_bytes(root / "claims.md", markdown(rows, results, name, size).encode())
    return root / "claims.md"


def markdown(rows: List[dict], results, name: str = "", size: int = 0) -> str:
    """The claims table (claim, measure, one column per weight set, verdict), then each claim's details."""
    names = [r.name for r in results]
    titles = {r.name: f"{r.weights.title} ({r.name})" for r in results}
    lines = [f"# The paper's claims, measured: {name}", "",
             f"Each cell: the headline number with its 95% bootstrap interval ({stats.BOOTSTRAP} resamples), and "
             f"whether the claim holds on that network by the rule in the measure column. Pictures at {size} px, "
             "judged before the saved picture's denoising. The verdict compares trained with untrained weights.", "",
             "| | claim | measure | " + " | ".join(titles[n] for n in names) + " | verdict |",
             "|---" * (4 + len(names)) + "|"]
    for row in rows:
        cells = [_finding_text(row["findings"].get(n)) for n in names]
        lines.append(f"| ({row['key']}) | {row['claim']} | {row['measure']} | " + " | ".join(cells)
                     + f" | {row['verdict']} |")
    for row in rows:
        if row["details"]:
            lines += ["", f"**({row['key']}) {row['claim']}**", "", *detail_table(row["details"])]
    return "\n".join(lines) + "\n"


def _finding_text(f: Optional[dict]) -> str:
    if not f or f["value"] is None:
        return "not measured" + (f": {f['note']}" if f and f.get("note") else "")
    mark = "holds" if f["holds"] else "does not hold"
    return f"{f['value']:.2f} [{f['low']:.2f}, {f['high']:.2f}], {mark}" + (f" ({f['note']})" if f["note"] else "")


def detail_table(details: List[dict]) -> List[str]:
    """A claim's details as Markdown: an interval's bounds beside its value, floats to 3 decimals."""
    columns = [k for k in details[0] if not k.endswith(("_low", "_high"))]

    def cell(row: dict, column: str) -> str:
        value = row.get(column)
        if isinstance(value, float) and f"{column}_low" in row:
            return f"{value:.3f} [{row[column + '_low']:.3f}, {row[column + '_high']:.3f}]"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    return tables.markdown(details, columns, cell, [c.replace("_", " ") for c in columns]).splitlines()


def _row(key: str, interval: stats.Interval) -> dict:
    """A number and its interval as a details row names them, to 4 decimals."""
    return interval.row(key, lambda v: round(v, 4))


def _interval_row(key: str, values) -> dict:
    return _row(key, stats.bootstrap_interval(values))


def _in_order(r, layers) -> List[str]:
    net = vgg.network(r.weights.network)
    return sorted(layers, key=lambda name: net.layer(name).index)


def _picture(r, job_id: str) -> np.ndarray:
    return unprocessed(r.root / job_id)
