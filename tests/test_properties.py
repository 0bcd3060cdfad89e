"""Property tests: whatever arguments or config values are thrown at them, the CLI and the config loader
answer with exit status 0, 1 or 2 (or a one-line FmiError), never a traceback, and leave nothing
behind when they refuse (exit 2)."""
import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmi_mx.cli import main
from fmi_mx.errors import FmiError
from fmi_mx.sweep import config

NUMBERS = st.one_of(st.integers(-3, 70), st.floats(allow_nan=True, allow_infinity=True, width=32),
                    st.sampled_from(["0", "-1", "1e-3", "nan", "inf", "abc", "", "1e30", "3"]))
TEXT = st.text(alphabet="relu12345_,:.-/ abcsmp", max_size=14)
OPTIONS = {
    "--size": st.one_of(st.integers(-2, 40), st.sampled_from(["100000", "x", "16"])),
    "--max-iterations": st.one_of(st.integers(-1, 3), st.sampled_from(["0", "two"])),
    "--log-every": st.one_of(st.integers(-1, 3), st.just("0")),
    "--seed": st.one_of(st.integers(-2, 3), st.just("s")),
    "--stop-eps": NUMBERS, "--weight-decay": NUMBERS, "--remove-noise": NUMBERS, "--max-memory": NUMBERS,
    "--layers": st.one_of(st.sampled_from(["relu1_1", "relu1_1,relu1_2", "", ",", "relu1_1,,relu2_1", "relu9_9"]),
                          TEXT),
    "--mode": st.sampled_from(["original", "feature_map", "random", "purposeful", "fmi"]),
    "--filter": st.one_of(st.integers(-2, 70), st.just("x")),
    "--pooling": st.sampled_from(["avg", "max", "min"]),
    "--weights": st.sampled_from(["random", "random:1", "random:x", "missing.params"]),
    "--device": st.sampled_from(["cpu", "cpu:0", "tpu", "gpu:x"]),
    "--style": st.sampled_from(["sample:brick", "sample:nope", "missing.jpg"]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.none(), max_size=6).flatmap(
    lambda keys: st.fixed_dictionaries({k: OPTIONS[k] for k in keys})),
    out=st.sampled_from(["x.png", "x.jpg", "x.xyz", "dir/", "afile/x.png", "deep/er/x.png"]))
def test_the_cli_never_tracebacks_and_leaves_nothing_when_it_refuses(chosen, out, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "dir").mkdir()
        (root / "afile").write_text("a file")
        argv = ["invert", "sample:astronaut", "--layers", "relu1_1", "--size", "16", "--max-iterations", "2",
                "--weights", "random"]
        for option, value in chosen.items():
            argv += [option, str(value)]
        argv += ["--out", str(root / out)]
        before = set(root.rglob("*"))
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: a value of the wrong type, an unknown choice
            code = e.code
        assert code in (0, 1, 2), argv
        err = capsys.readouterr().err  # (an exception would have failed the test on its own)
        if code == 2:
            assert set(root.rglob("*")) == before, argv
            problems = [line for line in err.splitlines() if "error" in line]
            assert len(problems) == 1 and problems[0].startswith("fmi-mx"), err


YAML_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 600), TEXT,
                                     st.floats(allow_nan=False, width=32)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
KEYS = ["name", "figure", "weights", "device", "size", "inputs", "pooling", "remove_noise", "optimise", "batch_size",
        "max_memory", "style_weight_decay", "panels", "sizee"]
PANEL = st.fixed_dictionaries({"mode": st.sampled_from(["feature_map", "original", "gram", "pmci", "x"]),
                               "contents": st.one_of(st.just(["sample:astronaut"]), YAML_VALUES)},
                              optional={"layers": st.one_of(st.just(["relu1_1"]), YAML_VALUES),
                                        "filters": st.one_of(st.just([0, 64]), YAML_VALUES),
                                        "styles": YAML_VALUES, "style_layers": YAML_VALUES, "seeds": YAML_VALUES})


@settings(max_examples=150, deadline=None)
@given(top=st.dictionaries(st.sampled_from(KEYS), YAML_VALUES, max_size=5),
       panels=st.lists(PANEL, max_size=2),
       optimise=st.dictionaries(st.sampled_from(["learning_rate", "momentum", "max_iterations", "log_every", "lr"]),
                                NUMBERS, max_size=3))
def test_the_config_loader_answers_every_config_with_a_config_or_one_error(top, panels, optimise):
    data = dict(top, panels=panels, optimise=optimise) if panels else dict(top, optimise=optimise)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(yaml.safe_dump(data))
        try:
            exp = config.load(path)
        except FmiError as e:
            assert "\n" not in str(e) and str(path) in str(e)
            return
        assert exp.panels and all(not math.isnan(v) for v in exp.optimise.values() if isinstance(v, float))
        list(exp.tasks())  # a config that loads expands into valid tasks
