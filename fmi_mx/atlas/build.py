"""After an atlas sweep: the texture-identity score of every layer, ``scores.csv`` (per filter) and
``scores.json`` (per layer, with chance and the shuffled control), then the site in ``atlas/``.

The score is kept while the finished jobs stay the same (``--rescore`` redoes it), so running a
finished atlas again only rebuilds the site.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .. import files, signals, tables
from ..records import JobRecord
from .._version import __version__
from ..core.objectives import codes
from ..core.image import images
from ..core.network import vgg
from ..core.network.weights import Weights
from . import site
from .score import DESCRIPTOR_LAYERS

DISTANCE = "sum over relu1_1, relu2_1, relu3_1 of ||D(R) - D(R')||_F / (||D(R)||_F + ||D(R')||_F), D = G / (C M)"
@dataclass
class LayerJobs:
    """One layer's FMI jobs: its content pictures in order, and per filter the job id for each of them."""

    contents: List[str] = field(default_factory=list)
    by_filter: Dict[int, List[str]] = field(default_factory=dict)


Grid = Dict[str, LayerJobs]  # by layer


def grid_of(jobs) -> Grid:
    """The atlas's FMI jobs by layer, filter and content image (contents in the order they appear)."""
    found: Dict[str, Tuple[List[str], Dict[int, Dict[str, str]]]] = {}
    for job in jobs:
        t = job.task
        if not (t.PICTURE_TARGETS and t.mode in codes.MODIFICATIONS and codes.modification(t.mode).uses_filter
                and len(t.layers) == 1):
            continue
        contents, by_filter = found.setdefault(t.layers[0], ([], {}))
        if t.content not in contents:
            contents.append(t.content)
        by_filter.setdefault(t.filter, {})[t.content] = job.id
    return {layer: LayerJobs(contents, {k: [row[c] for c in contents if c in row] for k, row in sorted(by_filter.items())})
            for layer, (contents, by_filter) in found.items()}


Visuals = Dict[str, Dict[int, str]]  # layer -> filter -> the job id of its visualisation


def visuals_of(jobs) -> Visuals:
    """The atlas's visualisation jobs (mode activation) by layer and filter."""
    out: Visuals = {}
    for job in jobs:
        if not job.task.PICTURE_TARGETS:  # a visualisation: what a filter wants, from no picture
            out.setdefault(job.task.layers[0], {})[job.task.filter] = job.id
    return out


def build(root: Path, name: str, w: Weights, grid: Grid, records: Dict[str, JobRecord], device: str,
          log: Callable[[str], None] = print, rescore: bool = False, visuals: Optional[Visuals] = None) -> Path:
    """Score (or reuse the score), write the score files, render the site (and, where there are
    visualisations, a figure per layer); return its index page."""
    visuals = visuals or {}
    scores = _scores(root, w, grid, records, device, log, rescore, visuals)
    site_dir = root / "atlas"
    contents = _contents(site_dir, grid)
    for job_id in records:
        signals.check()
        site.thumbnail(root / job_id / "result.png", site_dir / "thumbs" / f"{job_id}.jpg", site.THUMB)
    some = next(records[ids[0]] for cell in grid.values() for ids in cell.by_filter.values())
    h, w_px = some.image_size
    atlas = {"name": name, "version": __version__, "weights_text": site.weights_text(w), "size": max(h, w_px),
             "descriptor_layers": DESCRIPTOR_LAYERS, "contents": list(contents.values()),
             "thumb_width": round(site.THUMB * w_px / max(h, w_px)), "thumb_height": round(site.THUMB * h / max(h, w_px))}
    net = vgg.network(w.network)
    layers = [_layer(name_, net.layer(name_).channels, grid[name_], scores.get(name_, {}), records, contents,
                     visuals.get(name_, {})) for name_ in grid]
    index = site.render(site_dir, atlas, layers)
    for layer_name in visuals:
        if layer_name in grid:
            _visual_figure(root, layer_name, grid[layer_name], visuals[layer_name], w)
    for layer_name, cell in grid.items():
        mosaic(root, layer_name, cell)
    log(f"{index}: the atlas ({sum(len(layer['filters']) for layer in layers)} filters in {len(layers)} layers)")
    return index


def _layer(name: str, channels: int, cell: LayerJobs, score: dict, records, contents,
           visuals: Dict[int, str]) -> dict:
    layer_contents, by_filter = cell.contents, cell.by_filter
    indices = sorted(by_filter)
    filters = []
    agreement = score.get("agreement", {}).get("filters", {})
    for n, k in enumerate(indices):
        per = score.get("filters", {}).get(str(k), {})
        page = site.filter_page(k, by_filter[k], records, [contents[c] for c in layer_contents], per.get("ranks"),
                                (indices[n - 1] if n else None, indices[n + 1] if n + 1 < len(indices) else None))
        accuracy, mrr = per.get("identity_accuracy"), per.get("mean_reciprocal_rank")
        visual = site.visual_page(visuals.get(k), records, agreement.get(str(k)))
        neighbours = [{"index": m["filter"], "distance": m["distance"], "thumb": f"thumbs/{by_filter[m['filter']][0]}.jpg"}
                      for m in per.get("neighbours", []) if m["filter"] in by_filter]
        page.update(accuracy=accuracy, mrr=mrr, sort_score=(accuracy or 0) + (mrr or 0) / 1000, visual=visual,
                    sort_agreement=-1 if not visual or visual["accuracy"] is None else visual["accuracy"],
                    neighbours=neighbours)
        filters.append(page)
    return {"name": name, "channels": channels, "filters": filters,
            "agreement": score.get("agreement", {}).get("summary"),
            "summary": score.get("summary"), "why": score.get("why", "")}


def _contents(site_dir: Path, grid: Grid) -> Dict[str, Dict[str, str]]:
    """Each content image once, as a thumbnail in the site: {source: {name, thumb}}."""
    out = {}
    for cell in grid.values():
        for source in cell.contents:
            if source not in out:
                target = site_dir / "content" / f"{len(out)}.jpg"
                picture = images.resize_long_edge(images.read(source), site.CONTENT_THUMB)
                images.write(target, picture.astype("uint8"))
                out[source] = {"name": images.short_name(source), "thumb": f"content/{len(out)}.jpg"}
    return out


def jobs_digest(root: Path, records: Dict[str, JobRecord]) -> str:
    """Names the finished jobs a score was made from (their sidecars' times): a new or redone job changes it."""
    stamp = "".join(f"{job_id}:{(root / job_id / 'result.json').stat().st_mtime_ns};" for job_id in sorted(records))
    return hashlib.sha256(stamp.encode()).hexdigest()


def _scores(root: Path, w: Weights, grid: Grid, records, device: str, log, rescore: bool,
            visuals: Visuals) -> Dict[str, dict]:
    """Per layer {"summary", "filters": {k: accuracy, MRR, ranks}} or {"why"}: cached in scores.json while
    the finished jobs are the same; a cache that does not parse or does not match is computed again."""
    import json

    digest, cache = jobs_digest(root, records), root / "scores.json"
    if cache.is_file() and not rescore:
        try:
            stored = json.loads(cache.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            stored = None
        if isinstance(stored, dict) and stored.get("jobs_digest") == digest and isinstance(stored.get("layers"), dict):
            return stored["layers"]
        why = "does not parse" if stored is None or not isinstance(stored, dict) else "was made from other jobs"
        log(f"{cache} {why}: scoring again")
    from ..core.run.engine import Runner

    layers = compute(root, Runner(w, device), grid, records, log, visuals)
    files.write_json(cache, {"weights": w.describe(), "descriptor_layers": list(DESCRIPTOR_LAYERS),
                             "distance": DISTANCE, "jobs_digest": digest, "layers": layers})
    files.write_bytes(root / "scores.csv", _csv(layers))
    return layers


def compute(root: Path, runner, grid: Grid, records: Dict[str, JobRecord], log: Callable[[str], None],
            visuals: Optional[Visuals] = None) -> Dict[str, dict]:
    """Each layer's score with the descriptors of ``runner``'s network: {"summary", "filters"} or {"why"}, and
    where every scored filter has a visualisation, {"agreement": {"summary", "filters"}} too."""
    from .texture import layer_agreement, layer_score

    out = {}
    for name, cell in grid.items():
        signals.check()
        contents, by_filter = cell.contents, cell.by_filter
        complete = {k: ids for k, ids in by_filter.items() if len(ids) == len(contents)}
        if len(contents) < 2 or len(complete) < 2:
            out[name] = {"why": f"a score needs 2 or more filters and content images ({len(complete)} and "
                                f"{len(contents)} here)"}
            continue
        pictures = [[images.read(root / job_id / "raw.png") for job_id in ids] for ids in complete.values()]
        valid = np.array([[records[job_id].fired(name) for job_id in ids] for ids in complete.values()])
        result = layer_score(runner, pictures, list(complete), valid=valid)
        short, scored = [images.short_name(c) for c in contents], list(complete)
        out[name] = {"summary": result.summary, "filters": {
            str(k): {"identity_accuracy": _number(result.accuracy[n]), "mean_reciprocal_rank": _number(result.mrr[n]),
                     "ranks": [{"i": short[i], "j": short[j], "rank": _number(result.ranks[n, i, j])}
                               for i in range(len(contents)) for j in range(len(contents)) if i != j],
                     "neighbours": [{"filter": scored[m], "distance": _number(dist)} for m, dist in
                                    zip(result.neighbours[n], result.neighbour_distances[n]) if not np.isnan(dist)]}
            for n, k in enumerate(complete)}}
        mine = (visuals or {}).get(name, {})
        if all(k in mine and mine[k] in records for k in complete):
            alive = np.array([not records[mine[k]].never_fired for k in complete])
            seen = layer_agreement(runner, pictures, [images.read(root / mine[k] / "raw.png") for k in complete],
                                   list(complete), valid=valid & alive[:, None])  # a dead visualisation is not scored
            seen.summary["dead_visualisations"] = int((~alive).sum())
            out[name]["agreement"] = {"summary": seen.summary, "filters": {
                str(k): {"agreement_accuracy": _number(seen.accuracy[n]), "agreement_mrr": _number(seen.mrr[n]),
                         "ranks": [{"i": short[i], "rank": _number(seen.ranks[n, i])} for i in range(len(contents))]}
                for n, k in enumerate(complete)}}
            never = f", {int((~alive).sum())} visualisations whose filter never fired left out" if (~alive).any() else ""
            log(f"{name}: agreement of visualisations with FMI textures {seen.summary['agreement_accuracy']:.3f} "
                f"(chance {seen.summary['chance_accuracy']:.3f}){never}")
        dead = f", {result.summary['dead_results']} results of filters that did not fire left out" \
            if result.summary["dead_results"] else ""
        log(f"{name}: identity accuracy {result.summary['identity_accuracy']:.3f} "
            f"(chance {result.summary['chance_accuracy']:.3f}), MRR {result.summary['mean_reciprocal_rank']:.3f}{dead}")
    return out



def _number(value) -> object:
    """A float for JSON, None for NaN (a filter left out, a pair not scored)."""
    value = float(value)
    return None if np.isnan(value) else (int(value) if value.is_integer() and abs(value) < 2 ** 31 else value)


SCORE_COLUMNS = ("layer", "filter", "identity_accuracy", "mean_reciprocal_rank", "ranks", "agreement_accuracy",
                 "agreement_mrr")


def _csv(layers: Dict[str, dict]) -> bytes:
    rows = []
    for name, layer in layers.items():
        agreement = layer.get("agreement", {}).get("filters", {})
        for k, f in layer.get("filters", {}).items():
            seen = agreement.get(k, {})
            rows.append({"layer": name, "filter": k, "identity_accuracy": f["identity_accuracy"],
                         "mean_reciprocal_rank": f["mean_reciprocal_rank"],
                         "ranks": " ".join(f"{r['i']}>{r['j']}:{r['rank']}" for r in f["ranks"]),
                         "agreement_accuracy": seen.get("agreement_accuracy", ""),
                         "agreement_mrr": seen.get("agreement_mrr", "")})
    return tables.csv_bytes(rows, SCORE_COLUMNS)


MOSAIC_TILE = 48  # px: a filter's square in a layer's mosaic
MOSAIC_COLUMNS = 16


def mosaic(root: Path, layer: str, cell: LayerJobs) -> Optional[Path]:
    """A layer at a glance: each filter's FMI from its first content image, in filter order, ``MOSAIC_TILE`` px
    each, ``MOSAIC_COLUMNS`` to a row (``mosaic-<layer>.jpg``, a few hundred kB for a whole layer)."""
    firsts = [ids[0] for _, ids in sorted(cell.by_filter.items()) if (root / ids[0] / "result.png").is_file()]
    if not firsts:
        return None
    rows = -(-len(firsts) // MOSAIC_COLUMNS)
    sheet = np.full((rows * MOSAIC_TILE, min(len(firsts), MOSAIC_COLUMNS) * MOSAIC_TILE, 3), 255, np.uint8)
    for n, job_id in enumerate(firsts):
        tile = images.resize(images.read(root / job_id / "result.png"), (MOSAIC_TILE, MOSAIC_TILE))
        r, c = divmod(n, MOSAIC_COLUMNS)
        sheet[r * MOSAIC_TILE:(r + 1) * MOSAIC_TILE, c * MOSAIC_TILE:(c + 1) * MOSAIC_TILE] = np.rint(tile)
    path = root / f"mosaic-{layer}.jpg"
    images.write(path, sheet)
    return path


def _visual_figure(root: Path, layer: str, cell: LayerJobs, visuals: Dict[int, str], w: Weights,
                   most: int = 16) -> List[Path]:
    """A layer's figure: a row per filter (the first ``most``), its visualisation beside its FMI from each
    content image (PNG and PDF)."""
    from .. import figures

    contents, by_filter = cell.contents, cell.by_filter
    rows = [k for k in sorted(by_filter) if k in visuals][:most]
    labelled = []
    for k in rows:
        labelled.append(({"layer": layer, "filter": k, "column": "visualisation"},
                         images.read(root / visuals[k] / "result.png")))
        for content, job_id in zip(contents, by_filter[k]):
            labelled.append(({"layer": layer, "filter": k, "column": images.short_name(content)},
                             images.read(root / job_id / "result.png")))
    fig = figures.draw("features", labelled, title=f"{layer}: what each filter wants, and what it extracts ({w.title})",
                       caption=figures.CAPTIONS["features"])
    return figures.save(fig, root / f"visualisation-{layer}", ("png", "pdf"))
