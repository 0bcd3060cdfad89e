"""The GPU path is the CPU path with another context: same images within float tolerance."""
import numpy as np
import pytest

from fmi_mx.core import tasks
from fmi_mx.core.run.engine import Runner
from fmi_mx.backend.mx import mx
from fmi_mx.core.optimisation.settings import Settings

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not mx.runtime.Features().is_enabled("CUDA") or mx.context.num_gpus() == 0,
                    reason="needs a GPU build of MXNet (mxnet-cu112) and a GPU of compute capability <= 8.6")
def test_gpu_matches_cpu(random_weights):
    task = tasks.Inversion(content="sample:astronaut", layers=("relu2_1",), mode="feature_map", filter=1, size=32,
                           optimise=Settings.from_flat(max_iterations=20, stop_eps=0.0))
    cpu = Runner(random_weights, "cpu").run(task).outcome.x
    gpu = Runner(random_weights, "gpu:0").run(task).outcome.x
    assert np.linalg.norm(gpu - cpu) / np.linalg.norm(cpu) < 1e-3
