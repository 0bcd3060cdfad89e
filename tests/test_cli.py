"""Bad input exits with status 2 and one line naming it, and writes nothing."""
import json

import numpy as np
import pytest

from fmi_mx.core.network import weights as W
from fmi_mx.backend.mx import mx
from fmi_mx.cli import main


def _bad_weights(tmp_path, random_weights, kind):
    path = tmp_path / f"{kind}.params"
    arrays = {f"arg:{k}": mx.nd.array(v) for k, v in random_weights.arrays.items()}
    if kind == "missing_key":
        del arrays["arg:conv2_2_weight"]
    elif kind == "wrong_shape":
        arrays["arg:conv1_1_bias"] = mx.nd.zeros((3,))
    if kind == "not_params":
        path.write_text("this is not a params file")
    else:
        mx.nd.save(str(path), arrays)
    return path


CASES = {
    "missing image": (["invert", "{tmp}/absent.jpg", "--layers", "relu1_1", "--weights", "random"], "absent.jpg"),
    "unknown layer": (["invert", "sample:astronaut", "--layers", "relu6_1", "--weights", "random"], "relu6_1"),
    "filter out of range": (["invert", "sample:astronaut", "--layers", "relu1_1", "--mode", "feature_map",
                             "--filter", "64", "--weights", "random"], "filter 64"),
    "unknown mode": (["invert", "sample:astronaut", "--layers", "relu1_1", "--mode", "fmi"], "'fmi'"),
    "unknown style mode": (["style", "sample:astronaut", "sample:brick", "--mode", "gatys"], "'gatys'"),
    "missing weights": (["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", "{tmp}/none.params"],
                        "none.params"),
    "weights missing a key": (["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", "{missing_key}"],
                              "arg:conv2_2_weight"),
    "weights of a wrong shape": (["invert", "sample:astronaut", "--layers", "relu1_1", "--weights",
                                  "{wrong_shape}"], "arg:conv1_1_bias"),
    "not a params file": (["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", "{not_params}"],
                          "not_params.params"),
    "unknown device": (["invert", "sample:astronaut", "--layers", "relu1_1", "--weights", "random",
                        "--device", "tpu"], "tpu"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_line(case, tmp_path, random_weights, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, culprit = CASES[case]
    paths = {kind: _bad_weights(tmp_path, random_weights, kind) for kind in ("missing_key", "wrong_shape", "not_params")}
    argv = [a.format(tmp=tmp_path, **paths) for a in argv] + ["--out", str(tmp_path / "out" / "x.png")]
    before = set(tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    err = [line for line in err if not line.startswith("note:")]
    assert len(err) == 1 and culprit in err[0] and "error" in err[0]
    assert set(tmp_path.rglob("*")) == before  # no partial output


def test_invert_writes_image_and_sidecar(tmp_path, capsys):
    out = tmp_path / "fmi.png"
    code = main(["invert", "sample:astronaut", "--layers", "relu1_2", "--mode", "feature_map", "--filter", "2",
                 "--weights", "random:0", "--size", "32", "--max-iterations", "20", "--out", str(out)])
    assert code == 0 and out.is_file()
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["weights"]["source"] == "random-he:seed=0"
    assert record["weights"]["sha256"] == W.random_he(0).sha256 and record["weights"]["pretrained"] is False
    assert record["iterations"] == 20 and record["stop_reason"] == "max_iterations"
    assert set(record["code_error"]) == {"relu1_2"} and record["seconds_per_iteration"] > 0
    assert record["arguments"]["filter"] == 2 and record["task"]["filter"] == 2
    assert np.isfinite(record["final_loss"]) and record["versions"]["mxnet"] == "1.9.1"
    assert "relative code error" in capsys.readouterr().out


def test_style_and_weights_commands(tmp_path, capsys):
    params = tmp_path / "r.params"
    assert main(["weights", "random", "--seed", "3", "--out", str(params)]) == 0
    assert main(["weights", "check", str(params)]) == 0
    assert W.load(params).sha256 in capsys.readouterr().out
    out = tmp_path / "style.png"
    assert main(["style", "sample:astronaut", "sample:brick", "--mode", "gram", "--style-layers", "relu1_1,relu2_1",
                 "--weights", str(params), "--size", "32", "--max-iterations", "5", "--out", str(out)]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["task"]["kind"] == "StyleTransfer" and record["weights"]["source"] == f"file:{params}"
    assert set(record["gram_distance"]) == {"relu1_1", "relu2_1"}


def test_the_gluon_zoo_offline_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mxhome"))
    assert main(["weights", "fetch", "--from", "gluon", "--out", str(tmp_path / "vgg19.params")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "download http://127.0.0.1:9/gluon/models/vgg19-" in err[0]
