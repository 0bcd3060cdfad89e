"""A stand-in for a LossGraph whose minimum and gradient are known: a separable quadratic."""
import numpy as np

from fmi_mx.backend.mx import mx


class Quadratic:
    """Stands in for a LossGraph: loss 1/2 ||a (x - b)||^2, gradient a^2 (x - b); optional NaN at one step."""

    def __init__(self, shape, nan_at=None, low=0.5, high=30.0):
        rng = np.random.default_rng(0)
        self.a = rng.uniform(low, high, shape).astype(np.float32)  # large a: some gradients are clipped
        self.b = rng.normal(0, 5, shape).astype(np.float32)
        self.data, self.grad = mx.nd.zeros(shape), mx.nd.zeros(shape)
        self.steps, self.nan_at = 0, nan_at

    def gradient(self, x):
        return self.a ** 2 * (x - self.b)

    def step(self):
        self.steps += 1
        g = self.gradient(self.data.asnumpy())
        self.grad[:] = np.nan if self.steps == self.nan_at else g

    def sample_losses(self):
        return 0.5 * np.sum((self.a * (self.data.asnumpy() - self.b)) ** 2, axis=(1, 2, 3))

    def loss_outputs(self):
        return [mx.nd.array(self.sample_losses())]
