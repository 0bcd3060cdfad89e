"""The optimiser settings block: the method, its parameters, and the priors on the image.

The defaults are the original scripts' SGD (spec "Optimisation"); ``lbfgs`` and ``adam`` and the
priors (total variation, jitter) are options beyond the original, off by default.
"""
from dataclasses import asdict, dataclass, fields
from typing import Dict, Iterator

from ..errors import choice
from .rules import Problem, check, number, raise_problems, whole

METHODS = ("sgd", "lbfgs", "adam")
# fields added after job ids were first made (see Settings.identity)
ADDED_FIELDS = ("method", "lbfgs_history", "lbfgs_evaluations", "adam_learning_rate", "adam_beta1", "adam_beta2",
                  "adam_epsilon", "tv_weight", "tv_beta", "jitter", "stop_loss",
                "max_seconds")


@dataclass(frozen=True)
class Settings:
    """Optimiser settings; the defaults are the inversion script's (style transfer: weight_decay 5e-3)."""

    learning_rate: float = 0.1  # sgd's
    momentum: float = 0.9
    weight_decay: float = 5e-4
    clip_gradient: float = 10.0  # sgd's, elementwise
    lr_step: int = 10
    lr_factor: float = 0.9
    stop_eps: float = 0.005
    max_iterations: int = 1000
    init_range: float = 0.1
    log_every: int = 50
    method: str = "sgd"
    lbfgs_history: int = 10  # curvature pairs kept per sample
    lbfgs_evaluations: int = 20  # at most this many loss evaluations per line search
    adam_learning_rate: float = 10.0  # px per update, before bias correction
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    tv_weight: float = 0.0  # total-variation prior (Mahendran & Vedaldi): 0 = off
    tv_beta: float = 2.0
    jitter: int = 0  # px: random shift of the image before each gradient (Lucid); 0 = off
    stop_loss: float = 0.0  # stop a sample once its loss is at or below this; 0 = off
    max_seconds: float = 0.0  # stop every sample after this much optimisation time; 0 = off

    def __post_init__(self):
        raise_problems(self.problems())

    def problems(self) -> Iterator[Problem]:
        """Every rule the settings break, as (field, value, message)."""
        yield from check("method", self.method, lambda m: choice("method", m, METHODS))
        for name, rule in (("learning_rate", number("learning_rate", 0, low_open=True)),
                           ("momentum", number("momentum", 0, 1, high_open=True)),
                           ("weight_decay", number("weight_decay", 0)),
                           ("clip_gradient", number("clip_gradient", 0, low_open=True)),
                           ("lr_step", whole("lr_step", 1)), ("lr_factor", number("lr_factor", 0, low_open=True)),
                           ("stop_eps", number("stop_eps", 0)), ("max_iterations", whole("iterations", 1)),
                           ("init_range", number("init_range", 0)), ("log_every", whole("log_every", 1)),
                           ("lbfgs_history", whole("lbfgs_history", 1)),
                           ("lbfgs_evaluations", whole("lbfgs_evaluations", 1)),
                           ("adam_learning_rate", number("adam_learning_rate", 0, low_open=True)),
                           ("adam_beta1", number("adam_beta1", 0, 1, high_open=True)),
                           ("adam_beta2", number("adam_beta2", 0, 1, high_open=True)),
                           ("adam_epsilon", number("adam_epsilon", 0, low_open=True)),
                           ("tv_weight", number("tv_weight", 0)), ("tv_beta", number("tv_beta", 1)),
                           ("jitter", whole("jitter (px)", 0)), ("stop_loss", number("stop_loss", 0)),
                           ("max_seconds", number("max_seconds", 0))):
            yield from check(name, getattr(self, name), rule)
        if self.jitter and self.method == "lbfgs":
            yield "jitter", self.jitter, "jitter needs method sgd or adam (L-BFGS's line search needs a fixed loss)"

    def identity(self) -> Dict[str, object]:
        """The settings as a job's id sees them: fields added since the first release are left out while
        they hold their defaults, so the ids of existing results do not change."""
        defaults = {f.name: f.default for f in fields(self)}
        return {k: v for k, v in asdict(self).items() if k not in ADDED_FIELDS or v != defaults[k]}
