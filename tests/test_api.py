"""The Python API: fmi_mx.invert / style_transfer from paths, arrays and loaded weights."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fmi_mx
from fmi_mx.core.image import images
from fmi_mx.core.run.engine import Runner
from fmi_mx.core.optimisation.settings import Settings
from fmi_mx.core.tasks import Inversion
from fmi_mx.errors import FmiError

ROOT = Path(__file__).resolve().parents[1]


def test_invert_from_a_fresh_interpreter():
    code = ("import fmi_mx, json; image, record = fmi_mx.invert('sample:astronaut', layers=['relu1_2'], "
            "mode='feature_map', filter=3, weights='random', size=32, max_iterations=20); "
            "print(json.dumps([list(image.shape), str(image.dtype), record['iterations'], record['task']['filter'], "
            "record['weights']['pretrained']]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[32, 32, 3], "uint8", 20, 3, False]


def test_invert_equals_the_engine_and_takes_arrays(random_weights):
    image, record = fmi_mx.invert("sample:astronaut", layers="relu1_1", weights=random_weights, size=32, max_iterations=15)
    task = Inversion(content="sample:astronaut", layers=("relu1_1",), size=32, optimise=Settings.from_flat(max_iterations=15))
    engine = Runner(random_weights).run(task)
    np.testing.assert_array_equal(image, engine.image)
    assert record["code_error"] == engine.metrics["code_error"] and record["task"]["layers"] == ["relu1_1"]
    pixels = images.read("sample:astronaut")
    from_array, array_record = fmi_mx.invert(pixels, layers=["relu1_1"], weights=random_weights, size=32,
                                             max_iterations=15)
    np.testing.assert_array_equal(from_array, image)  # the same pixels give the same picture
    assert array_record["task"]["content"].startswith("array:512x512:")


def test_style_transfer_and_its_errors(random_weights):
    image, record = fmi_mx.style_transfer("sample:chelsea", "sample:brick", style_layers=["relu1_1"],
                                          weights=random_weights, size=32, max_iterations=5)
    assert image.shape[2] == 3 and record["task"]["kind"] == "StyleTransfer" and record["task"]["mode"] == "gram"
    with pytest.raises(FmiError, match="unknown layer 'relu9_1'"):
        fmi_mx.invert("sample:astronaut", layers="relu9_1", weights=random_weights)
    with pytest.raises(FmiError, match=r"\(H, W\) gray or \(H, W, 3\) RGB"):
        fmi_mx.invert(np.zeros((4, 4, 2)), layers="relu1_1", weights=random_weights)
    with pytest.raises(TypeError):
        fmi_mx.invert("sample:astronaut", ["relu1_1"])  # options by keyword only
