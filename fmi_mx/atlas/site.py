"""The atlas as a static site from templates (jinja2): an index, a page per layer (a tile per filter,
sortable, with a jump box) and a page per filter. No server, no CDN: it opens from ``file://``."""
import json
import shutil
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..core.image import images
from ..records import JobRecord
from ..core.network.weights import Weights

THUMB = 96  # px, the long edge of a tile's thumbnails
CONTENT_THUMB = 160
HERE = Path(__file__).parent


def weights_text(w: Weights) -> str:
    """What every page says about the weights that made it."""
    kind = {True: "pretrained", False: "UNTRAINED (random)" if w.is_random else "not pretrained",
            None: "pretrained or not: unknown"}[w.pretrained]
    origin = "" if w.origin == w.source else f"; {w.origin}"
    return f"{w.title}: {w.source} ({kind}{origin}; sha256 {w.sha256[:12]})"


def thumbnail(source: Path, target: Path, long_edge: int) -> None:
    """A small JPEG of a picture (kept if it is already there and newer)."""
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return
    images.write(target, images.resize_long_edge(images.read(source), long_edge).astype(np.uint8))


def environment():
    """The site's templates (jinja2, autoescaped, undefined names an error)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("fmi_mx.atlas", "templates"), autoescape=select_autoescape(),
                       undefined=StrictUndefined)


def copy_static(folder: Path) -> None:
    """The stylesheet and script the pages link to, into ``folder/static``."""
    shutil.copytree(HERE / "static", folder / "static", dirs_exist_ok=True)


def render(site: Path, atlas: Dict[str, object], layers: List[Dict[str, object]]) -> Path:
    """Write index.html, <layer>.html and <layer>/<k>.html under ``site``; return the index."""
    env = environment()
    copy_static(site)
    pages = {site / "index.html": env.get_template("index.html").render(atlas=atlas, layers=layers, up="")}
    for layer in layers:
        pages[site / f"{layer['name']}.html"] = env.get_template("layer.html").render(atlas=atlas, layer=layer, up="")
        for f in layer["filters"]:
            pages[site / layer["name"] / f"{f['index']}.html"] = env.get_template("filter.html").render(
                atlas=atlas, layer=layer, f=f, up="../")
    for path, text in pages.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return site / "index.html"


def visual_page(job_id: Optional[str], records: Dict[str, JobRecord], agreement: Optional[dict]) -> Optional[dict]:
    """What a filter's tile and page show of its visualisation (None without one)."""
    if job_id is None or job_id not in records:
        return None
    record = records[job_id]
    return {"thumb": f"thumbs/{job_id}.jpg", "picture": f"../../{job_id}/result.png", "raw": f"../../{job_id}/raw.png",
            "activation": next(iter(record.activation.values()), float("nan")),
            "iterations": record.iterations, "accuracy": (agreement or {}).get("agreement_accuracy"),
            "mrr": (agreement or {}).get("agreement_mrr"), "ranks": (agreement or {}).get("ranks", [])}


def filter_page(index: int, jobs: List[str], records: Dict[str, JobRecord], contents: List[Dict[str, str]],
                ranks: Optional[List[Dict[str, object]]], neighbours) -> Dict[str, object]:
    """What a filter's tile and detail page show (paths relative to the site's root, or its layer folder)."""
    results = []
    for job_id, content in zip(jobs, contents):
        record = records[job_id]
        share = record.share() or {"content": float("nan"), "result": float("nan")}
        results.append({"content": content["name"], "content_thumb": "../" + content["thumb"],
                        "picture": f"../../{job_id}/result.png", "raw": f"../../{job_id}/raw.png",
                        "share_content": share["content"], "share_result": share["result"],
                        "code_error": record.mean_code_error(),
                        "iterations": record.iterations, "stop_reason": record.stop_reason,
                        "sidecar": json.dumps(record.sidecar, indent=1, sort_keys=True)})
    return {"index": index, "thumbs": [f"thumbs/{job_id}.jpg" for job_id in jobs], "results": results,
            "ranks": ranks or [], "previous": neighbours[0], "next": neighbours[1]}
