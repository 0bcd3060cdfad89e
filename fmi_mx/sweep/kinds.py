"""The figure kinds a config names (``figure:``), one class each, registered by name: the command that runs
it, its own config rules, whether its jobs keep the picture before denoising, and what its finished jobs
become (a figure of the paper, an atlas, or a table and curves). A new kind is one more subclass here."""
from pathlib import Path
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

from .. import figures, files, tables
from ..records import JobRecord
from ..core.image import images
from ..core.network import vgg
from ..core.network import weights as weights_module
from ..core.tasks import STYLE_MODES
from ..errors import FmiError, Problems, choice, unknown
from . import results, sharding

Log = Callable[[str], None]
ATLAS_MODES = ("feature_map", "activation")  # what an atlas runs
CLAIM_EXTRA_MODES = ("random", "gram", "pmci")  # what a claim runs besides, to measure the paper's other claims
STYLE_COLUMNS = ("content", "style", "mode", "gram_style_distance", "channel_sum_style_distance", "content_error")


class FigureKind:
    """What a config's ``figure`` makes of its jobs."""

    name: ClassVar[str] = ""
    command: ClassVar[str] = "run"  # fmi-mx <command> runs such a config
    keeps_raw: ClassVar[bool] = False  # every job keeps its picture before denoising (an atlas scores those)
    draws: ClassVar[bool] = True  # there is a picture to draw once every job is finished
    score_cache: ClassVar[Optional[str]] = None  # the file its scores are cached in
    takes_weight_sets: ClassVar[bool] = False  # runs once per weight set (weight_sets, reference)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            KINDS[cls.name] = cls()

    @property
    def stem(self) -> str:
        """The file name (no suffix) of its table and figure."""
        return self.name

    def check(self, exp, problems: Problems) -> tuple:
        """Its own rules on a config (problems collected, not raised); the experiments whose tasks must hold."""
        if not self.takes_weight_sets and (exp.weight_sets or exp.reference):
            problems.add("weight_sets" if exp.weight_sets else "reference", "only for figure: claim")
        return (exp,)

    def assemble(self, exp, root: Path, jobs, records: Dict[str, JobRecord], w, log: Log, rescore: bool = False,
                 formats: Sequence[str] = ("png", "pdf"), redraw: bool = False) -> Optional[Path]:
        """Its figure from every finished job (all of them are), with the table and the loss curves."""
        raise NotImplementedError


KINDS: Dict[str, FigureKind] = {}


class _Drawn(FigureKind):
    """A table of the jobs' numbers and their loss curves; then, for a paper figure, the figure."""

    def check(self, exp, problems):
        for i, panel in enumerate(p for p in exp.panels if p is not None):
            if panel.mode == "activation" and self.draws:
                problems.add(f"panels[{i}].mode", f"{self.name} lays out inversions and style transfers; activation "
                                                  "panels go in figure: none, atlas or claim")
        return super().check(exp, problems)

    def assemble(self, exp, root, jobs, records, w, log, rescore=False, formats=("png", "pdf"), redraw=False):
        drawn = root / f"{self.stem if self.draws else 'curves'}.{formats[0]}"
        newest = max((root / job_id / results.SIDECAR).stat().st_mtime_ns for job_id in records)
        if not redraw and drawn.is_file() and drawn.stat().st_mtime_ns >= newest:
            log(f"{drawn}: up to date with its {len(records)} jobs (fmi-mx figure draws it again)")
            return drawn
        write_table(root / self.stem, [records[job.id] for job in jobs])
        title = f"{exp.name}: {w.title} ({w.source})"
        groups = figures.curve_groups(self.name, [(job.labels, records[job.id]) for job in jobs])
        figures.save(figures.curves(groups, title), root / "curves", formats)
        if not self.draws:
            return None
        labelled = [(job.labels, _picture(root / job.id / "result.png", records.get(job.id))) for job in jobs]
        shape = next(p for _, p in labelled if p is not None).shape[:2]
        styles = {style: images.resize(images.read(style), shape).astype("uint8")
                  for style in dict.fromkeys(job.labels["style"] for job in jobs if job.labels["style"])}
        fig = figures.draw(self.name, labelled, styles, title, figures.CAPTIONS[self.name])
        paths = figures.save(fig, root / self.name, formats)
        self.after_drawing(exp, root, jobs, log)
        log(f"{', '.join(map(str, paths))}: the figure ({len(records)} of {len(jobs)} panels) and its curves")
        return paths[0]

    def after_drawing(self, exp, root: Path, jobs, log: Log) -> None:
        """What a kind adds beside its figure."""


class Fig3(_Drawn):
    """Figure 3: rows layers, columns filters."""

    name = "fig3"


class Fig4(_Drawn):
    """Figure 4: rows layers, columns random draws."""

    name = "fig4"


class Fig5(_Drawn):
    """Figure 5: rows style pictures, columns the style, then each content's Gatys and PMCI results; and a
    table of how much style and content each result carries."""

    name = "fig5"

    def after_drawing(self, exp, root, jobs, log):
        style_table(root / "fig5-style", [(job.labels, root / job.id / "result.png") for job in jobs], exp.device, log)


class Pairs(_Drawn):
    """FMIs laid out to be compared: rows layers, columns filters, and in each cell the filter's results from
    every content picture side by side (the demo)."""

    name = "pairs"


class Atlas(FigureKind):
    """Every filter's FMIs from several pictures, scored for texture identity, as a site."""

    name = "atlas"
    command = "atlas"
    keeps_raw = True
    score_cache = "scores.json"
    modes: ClassVar[Tuple[str, ...]] = ATLAS_MODES
    does: ClassVar[str] = "inverts filters (feature_map) and may visualise them (activation)"  # its modes, said

    def check(self, exp, problems):
        what = f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name}"
        panels = [p for p in exp.panels if p is not None]
        for i, panel in enumerate(panels):
            if panel.mode not in self.modes:
                problems.add(f"panels[{i}].mode", f"{what} {self.does}, not {panel.mode}")
            if panel.mode == "feature_map" and len(set(panel.contents)) < 2:
                problems.add(f"panels[{i}].contents", f"{what} needs two or more different content "
                                                      "images (the score compares a filter's textures across them)")
        if panels and not any(p.mode == "feature_map" for p in panels):
            problems.add("panels", f"{what} needs a feature_map panel (its visualisations go beside FMIs)")
        inverted = {layer for p in panels if p.mode == "feature_map" for layer in p.layers}
        for i, panel in enumerate(panels):
            lonely = [layer for layer in panel.layers if layer not in inverted] if panel.mode == "activation" else []
            if lonely:
                problems.add(f"panels[{i}].layers", f"{', '.join(lonely)}: no feature_map panel inverts this layer, "
                                                    f"so its visualisations would be used nowhere in the {self.name}")
        return super().check(exp, problems)

    def assemble(self, exp, root, jobs, records, w, log, rescore=False, formats=("png", "pdf"), redraw=False):
        from ..atlas import build

        write_table(root / self.stem, [records[job.id] for job in jobs])
        return build.build(root, exp.name, w, build.grid_of(jobs), records, sharding.parse_devices(exp.device)[0],
                           log, rescore, build.visuals_of(jobs))


class Claim(Atlas):
    """The same atlas for several weight sets, compared, with the paper's other claims measured beside it
    (``fmi_mx.claim`` runs and assembles it; each set is an atlas)."""

    name = "claim"
    command = "claim"
    takes_weight_sets = True
    modes = ATLAS_MODES + CLAIM_EXTRA_MODES
    does = Atlas.does + ", and measures random re-mixing (random) and style transfer (gram, pmci)"

    def check(self, exp, problems):
        super().check(exp, problems)
        sets = [ws for ws in exp.weight_sets if ws is not None]
        if len(sets) < 2:
            problems.add("weight_sets", "a claim compares two or more weight sets (name, network, weights)")
        names = [ws.name for ws in sets]
        for i, ws in enumerate(sets):
            with problems.at(f"weight_sets[{i}].name"):
                files.check_name(ws.name)
                if ws.name in names[:i]:
                    raise FmiError(f"'{ws.name}' names two weight sets; each needs its own folder")
            with problems.at(f"weight_sets[{i}].network"):
                vgg.network(ws.network)
            same = [j for j, other in enumerate(sets[:i]) if (other.network, _weights_of(other)) == (ws.network, _weights_of(ws))]
            if same:
                problems.add(f"weight_sets[{i}]", f"the same network and weights as weight_sets[{same[0]}] "
                                                  f"('{sets[same[0]].name}'): it would be computed twice")
        if exp.reference and exp.reference not in names:
            with problems.at("reference"):
                choice("reference (a weight set's name)", exp.reference, names)
        return tuple(exp.for_set(ws) for ws in sets if ws.network in vgg.NETWORKS) or (exp,)


class Table(_Drawn):
    """No figure: the table of the jobs' numbers and their loss curves."""

    name = "none"
    draws = False

    @property
    def stem(self) -> str:
        return "table"


FIGURES = KINDS.keys()  # live: a kind defined later is a valid choice too


def of(name: str) -> FigureKind:
    """The figure kind called ``name``."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise unknown("figure", name, KINDS) from None


def keeps_raw(exp) -> bool:
    """Do this config's jobs keep their pictures before denoising? An atlas scores those; a style transfer
    keeps it so that the denoising, which decides how much brushwork a saved picture shows, can be judged and
    done again."""
    return of(exp.figure).keeps_raw or any(panel.mode in STYLE_MODES for panel in exp.panels if panel is not None)


def _weights_of(ws) -> str:
    """A weight set's weights as a run resolves them: its file (the network's default when empty) or random:SEED."""
    text = ws.weights or str(weights_module.default_path(ws.network)) if ws.network in vgg.NETWORKS else ws.weights
    return "random:0" if text == "random" else str(Path(text).resolve()) if not text.startswith("random") else text


def write_table(stem: Path, finished_records: List[JobRecord]) -> None:
    """The numbers behind the panels of the finished jobs, as JSON, CSV and Markdown."""
    rows = [figures.table_row(r) for r in finished_records]
    files.write_json(stem.with_suffix(".json"), rows)
    files.write_bytes(stem.with_suffix(".csv"), tables.csv_bytes(rows, figures.TABLE_COLUMNS))
    files.write_bytes(stem.with_suffix(".md"), figures.markdown(rows, figures.TABLE_COLUMNS).encode())


def style_table(stem: Path, found: List[Tuple[dict, Path]], device: str, log: Log) -> None:
    """Style and content measures of style transfers' saved pictures, judged by the trained reference network
    (``atlas.style``), as JSON, CSV and Markdown; skipped, saying so, without trained weights."""
    from ..atlas.style import StyleJudge, reference_weights

    reference = reference_weights()
    if reference is None:
        log("no style measures: they need trained weights to judge by (fmi-mx weights fetch)")
        return
    judge = StyleJudge(reference, sharding.parse_devices(device)[0])
    rows, sources = [], {}  # each content and style picture read once

    def source(name: str):
        if name not in sources:
            sources[name] = images.read(name)
        return sources[name]

    for labels, path in found:
        measured = judge.measure(images.read(str(path)), source(labels["content"]), source(labels["style"]))
        rows.append({"content": labels["content"], "style": labels["style"], "mode": labels["mode"], **measured})
    files.write_json(stem.with_suffix(".json"), {"reference": reference.title, "rows": rows})
    files.write_bytes(stem.with_suffix(".csv"), tables.csv_bytes(rows, STYLE_COLUMNS))
    files.write_bytes(stem.with_suffix(".md"), figures.markdown(rows, STYLE_COLUMNS).encode())
    log(f"{stem}.md: style (relative to the content's own distance; 0 is the style) and content error, judged by "
        f"{reference.title}")


def _picture(path: Path, record: Optional[JobRecord]):
    """A finished job's picture for the figure; a diverged one framed in red."""
    if record is None:
        return None
    picture = images.read(path)
    return figures.mark_failed(picture) if record.diverged else picture
