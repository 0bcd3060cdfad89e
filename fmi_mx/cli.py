"""Command line: ``fmi-mx invert | style | weights | run | figure | inputs | bench | doctor | demo``.

``main(argv)`` returns the exit status: 0 done, 1 an optimisation went non-finite (the last finite
image is kept) or a sweep job failed, 2 bad input, 130 stopped early (Ctrl-C, SIGUSR1).
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from . import codes, images, vgg
from .errors import FmiError
from .optimise import Settings

EPILOG = "Weights: a params file, or 'random' / 'random:SEED' for untrained He-initialised VGG-19."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


def _layers(text: str) -> List[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    try:
        return [vgg.layer(name).name for name in names]
    except FmiError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_common(p: argparse.ArgumentParser, weight_decay: float) -> None:
    p.add_argument("--weights", default=str(Path("models") / "vgg19.params"), help="params file, or random[:SEED]")
    p.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    p.add_argument("--size", type=int, default=512, help="long edge of the content image in px (default 512)")
    p.add_argument("--seed", type=int, default=0, help="seeds the initial image and random codes")
    p.add_argument("--iterations", type=int, default=1000, help="maximum SGD updates (default 1000)")
    p.add_argument("--stop-eps", type=float, default=0.005, help="stop when ||x_t - x_t-1|| / ||x_t|| is below")
    p.add_argument("--weight-decay", type=float, default=weight_decay, help=f"default {weight_decay}")
    p.add_argument("--pooling", choices=vgg.POOLINGS, default="avg")
    p.add_argument("--remove-noise", type=float, default=0.2, help="TV denoising weight, 0 = off (default 0.2)")
    p.add_argument("--log-every", type=int, default=50, help="progress line every N updates")
    p.add_argument("--max-memory", type=float, default=4096.0, help="MB the executor may use (default 4096)")
    p.add_argument("--out", help="output image (.png/.jpg); a .json sidecar is written beside it")


def _settings(a: argparse.Namespace) -> Settings:
    return Settings(weight_decay=a.weight_decay, stop_eps=a.stop_eps, max_iterations=a.iterations,
                    log_every=a.log_every)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fmi-mx", description="Feature map inversion of VGG-19 (Xia et al. 2016) in MXNet.",
                     epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("invert", help="invert an (optionally modified) code of a content image", epilog=EPILOG)
    p.add_argument("content", help="image path, or sample:NAME (scikit-image: " + ", ".join(images.SAMPLES) + ")")
    p.add_argument("--layers", type=_layers, required=True, help="comma-separated, e.g. relu1_2 or relu1_1,relu2_1")
    p.add_argument("--mode", choices=codes.MODES, default="original")
    p.add_argument("--filter", type=int, help="filter index for feature_map (0-based)")
    p.add_argument("--style", help="style image, for mode purposeful")
    _add_common(p, 5e-4)

    p = sub.add_parser("style", help="style transfer: Gatys' Gram loss or the PMCI channel-sum loss", epilog=EPILOG)
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("--mode", choices=("gram", "pmci"), default="pmci")
    p.add_argument("--style-layers", type=_layers, default=["relu1_1", "relu2_1", "relu3_1", "relu4_1"])
    p.add_argument("--content-layer", type=_layers, default=["relu2_2"])
    p.add_argument("--content-weight", type=float, default=10.0, help="alpha (default 10)")
    p.add_argument("--style-weight", type=float, default=1.0, help="beta (default 1)")
    _add_common(p, 5e-3)

    p = sub.add_parser("weights", help="get, convert or check VGG-19 weights")
    wsub = p.add_subparsers(dest="action", required=True)
    w = wsub.add_parser("fetch", help="fetch Gluon's pretrained VGG-19 and convert it")
    w.add_argument("--out", default=str(Path("models") / "vgg19.params"))
    w = wsub.add_parser("convert", help="convert a Gluon vgg19 parameter file")
    w.add_argument("gluon_params")
    w.add_argument("--out", default=str(Path("models") / "vgg19.params"))
    w = wsub.add_parser("random", help="write seeded He-initialised (untrained) weights")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--out", required=True)
    w = wsub.add_parser("check", help="check a params file and print its sha256")
    w.add_argument("path")

    for name, text in (("run", "run every unfinished job of an experiment config, then its figure"),
                       ("figure", "assemble an experiment's figure and table from its finished jobs")):
        p = sub.add_parser(name, help=text)
        p.add_argument("config", help="experiment YAML, e.g. experiments/fig3.yaml")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set size=128 --set optimise.max_iterations=50")
        p.add_argument("--runs", default="runs", help="output root (default runs/)")
        if name == "run":
            p.add_argument("--dry-run", action="store_true", help="list the jobs and their ids, run nothing")
            p.add_argument("--devices", help="one worker per device, e.g. gpu:0,gpu:1 or cpu,cpu (default: config)")
            p.add_argument("--gpus", help="shorthand: --gpus 0,1 is --devices gpu:0,gpu:1")
            p.add_argument("--shard", help="K/N: run only the K-th of N cost-balanced slices; slurm: from the "
                                           "SLURM_ARRAY_* variables, on the GPUs SLURM granted")

    p = sub.add_parser("inputs", help="download the paper's six images into inputs/ (sha256-checked)")
    p.add_argument("--out", default="inputs")

    p = sub.add_parser("bench", help="time our inversion step against the original loop and PyTorch")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--out", default=str(Path("benchmarks") / "results"))

    sub.add_parser("doctor", help="MXNet build features, GPUs and their compute capability, CUDA libraries")

    p = sub.add_parser("demo", help="FMI of filters 0..4 at relu1_2 and relu2_2, random weights, no downloads")
    p.add_argument("--out", default="runs")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--image", default="sample:astronaut")
    return parser


def _default_out(a: argparse.Namespace, stem_parts: Sequence[str]) -> Path:
    return Path(a.out) if a.out else Path("outputs") / ("_".join(stem_parts) + ".png")


def _stem(source: str) -> str:
    return source.split(":", 1)[1] if source.startswith(images.SAMPLE_PREFIX) else Path(source).stem


def _run(task, a: argparse.Namespace, out: Path) -> int:
    from . import tasks, weights

    w = weights.resolve(a.weights)
    if w.is_random:
        print(f"note: untrained weights ({w.source}); pretrained ones: fmi-mx weights fetch", file=sys.stderr)
    runner = tasks.Runner(w, a.device, log=lambda line: print(line, file=sys.stderr), max_memory=a.max_memory)
    result = runner.run(task)
    tasks.save(out, task, result, w, a.device, arguments=vars(a))
    outcome = result.outcome
    errors = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics["code_error"].items())
    print(f"{out}: {outcome.iterations} iterations ({outcome.stop_reason}), relative code error {errors}, "
          f"{outcome.seconds_per_iteration * 1e3:.1f} ms/iteration")
    if outcome.stop_reason == "non_finite":
        print(f"fmi-mx: error: the optimisation became NaN/Inf after {outcome.iterations} updates; "
              f"kept the last finite image in {out}", file=sys.stderr)
        return 1
    return 0


def _invert(a: argparse.Namespace) -> int:
    from .tasks import Inversion

    task = Inversion(a.content, tuple(a.layers), a.mode, a.filter, a.style, a.seed, a.size, a.pooling,
                     a.remove_noise, _settings(a))
    parts = [_stem(a.content), a.mode, "-".join(a.layers)]
    parts += [f"f{a.filter}"] if a.mode == "feature_map" else []
    parts += [_stem(a.style)] if a.style else []
    return _run(task, a, _default_out(a, parts + [f"s{a.seed}"]))


def _style(a: argparse.Namespace) -> int:
    from .tasks import StyleTransfer

    if len(a.content_layer) != 1:
        raise FmiError("--content-layer takes one layer")
    task = StyleTransfer(a.content, a.style, tuple(a.style_layers), a.mode, a.content_layer[0], a.content_weight,
                         a.style_weight, a.seed, a.size, a.pooling, a.remove_noise, _settings(a))
    return _run(task, a, _default_out(a, [_stem(a.content), _stem(a.style), a.mode, f"s{a.seed}"]))


def _weights(a: argparse.Namespace) -> int:
    from . import weights

    if a.action == "fetch":
        print(f"wrote {weights.fetch(a.out)} (Gluon model-zoo VGG-19, converted)")
    elif a.action == "convert":
        arrays, mean = weights.from_gluon(a.gluon_params)
        print(f"wrote {weights.save(a.out, arrays, mean)}")
    elif a.action == "random":
        w = weights.random_he(a.seed)
        print(f"wrote {weights.save(a.out, w.arrays, w.mean_rgb)} (untrained, seed {a.seed})")
    else:
        w = weights.load(a.path)
        print(f"{a.path}: VGG-19 weights OK, mean {w.mean_rgb}, sha256 {w.sha256}")
    return 0


def _experiment(a: argparse.Namespace) -> int:
    from . import config, experiments, sharding

    exp = config.load(a.config, a.set)
    if a.command == "figure":
        return 0 if experiments.figure(exp, Path(a.runs)) or exp.figure == "none" else 1
    devices = sharding.parse_devices(a.devices, a.gpus)
    shard = sharding.parse_shard(a.shard) if a.shard else None
    if a.shard == "slurm" and devices is None:
        devices = sharding.slurm_devices()
    report = experiments.run(exp, Path(a.runs), dry_run=a.dry_run, devices=devices, shard=shard)
    if report is None:
        return 0
    if report.failed:
        print(f"fmi-mx: error: {len(report.failed)} job(s) failed: {', '.join(sorted(report.failed))} "
              "(see <job-id>/failed.json); run again to retry them", file=sys.stderr)
        return 1
    if report.interrupted:
        print(f"fmi-mx: stopped early; {len(report.unfinished)} job(s) left for the next run", file=sys.stderr)
        return 130
    return 0


def _inputs(a: argparse.Namespace) -> int:
    from . import inputs

    print(f"{inputs.fetch(Path(a.out))}: the paper's six images, sha256 checked")
    return 0


def _bench(a: argparse.Namespace) -> int:
    from . import bench

    print(bench.run(a.size, a.repeats, Path(a.out)))
    return 0


def _doctor(a: argparse.Namespace) -> int:
    from . import doctor

    print("\n".join(doctor.report()))
    return 0


def _demo(a: argparse.Namespace) -> int:
    from . import demo

    return demo.run(Path(a.out), a.image, a.size, a.iterations)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"invert": _invert, "style": _style, "weights": _weights, "run": _experiment,
                "figure": _experiment, "inputs": _inputs, "doctor": _doctor, "bench": _bench,
                "demo": _demo}[args.command](args)
    except FmiError as e:
        print(f"fmi-mx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fmi-mx: interrupted; finished outputs are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
