"""The paper's claim (e) at the paper's own settings: whose style each of figure 5's results takes.

Figure 5 (``experiments/fig5.yaml``: 512 px, alpha 10, beta 1, two contents x four paintings x Gatys and
PMCI, trained VGG-19) is judged as ``fmi-mx claim`` judges a claim's style transfers
(``fmi_mx.claim.paper.style_identity``): each result's nearest painting by the reference network's Gram
descriptors and channel sums, before denoising. Needs the finished ``runs/fig5`` (``make fig5``).
Run: ``python benchmarks/style_identity.py [--runs runs] [--set size=256]``; prints a Markdown table.
"""
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    from fmi_mx.atlas.style import reference_weights
    from fmi_mx.claim import paper
    from fmi_mx.claim.compare import SetResult
    from fmi_mx.core.network import weights as weights_module
    from fmi_mx.core.run.engine import Runner
    from fmi_mx.sweep import config, experiment
    from fmi_mx.sweep.jobs import expand, folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(REPO / "runs"))
    parser.add_argument("--set", action="append", default=[], help="a config override, KEY=VALUE")
    a = parser.parse_args(argv)
    exp = config.load(REPO / "experiments" / "fig5.yaml", a.set)
    w = weights_module.resolve(exp.weights, exp.network)
    jobs = expand(exp, w.sha256)
    root = folder(exp, Path(a.runs))
    records = experiment.finished(root, jobs) if root.is_dir() else {}
    if len(records) < len(jobs):
        print(f"{root}: {len(records)} of {len(jobs)} style transfers finished; run make fig5 first", file=sys.stderr)
        return 1
    judge = reference_weights(REPO / "models")
    if judge is None:
        print("no trained weights to judge with: fmi-mx weights fetch", file=sys.stderr)
        return 1
    result = SetResult(exp.name, w, root, records, jobs)
    claim = paper.style_identity([result], Runner(judge, "cpu"))
    print(f"{exp.name}, {exp.size} px, {w.title}; judged by {judge.title}\n")
    print("\n".join(paper.detail_table(claim.details)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
