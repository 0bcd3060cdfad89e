"""L-BFGS on every sample of a batch at once, on the batch's device.

The loss it minimises is the graph's (terms and prior) plus weight_decay/2 ||x||^2, whose gradient is
what SGD follows too. Per iteration: the two-loop recursion over the last ``lbfgs_history`` curvature
pairs gives each sample's direction; a backtracking line search (Armijo's sufficient decrease, steps
cut by quadratic interpolation) gives each sample its own step. Only per-sample numbers (losses, dot
products) go to the host; the images, gradients and pairs stay on the device.
"""
import math
from typing import Callable, List, Tuple

import numpy as np

from ..settings import Settings
from .norms import relative_change

ARMIJO = 1e-4  # sufficient decrease: f(x + t d) <= f(x) + ARMIJO t g.d
FIRST_STEP = 1.0  # px, root mean square: the size of a sample's first step (no curvature known yet)
CURVATURE = 1e-8  # a pair is kept only if s.y > CURVATURE ||s|| ||y|| (keeps the inverse Hessian positive)


class LBFGS:
    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        from ...backend.mx import mx

        self.mx, self.graph, self.s, self.gradient = mx, graph, s, gradient
        x = graph.data
        self.n, ctx = x.shape[0], x.context
        self.flat = x.reshape((self.n, -1))
        self.size = self.flat.shape[1]
        self.previous = mx.nd.zeros_like(x)
        self.previous_flat = self.previous.reshape((self.n, -1))
        self.g, self.g_old = mx.nd.zeros(self.flat.shape, ctx), mx.nd.zeros(self.flat.shape, ctx)
        m = s.lbfgs_history
        self.steps = [mx.nd.zeros(self.flat.shape, ctx) for _ in range(m)]  # s = x_t - x_t-1
        self.turns = [mx.nd.zeros(self.flat.shape, ctx) for _ in range(m)]  # y = g_t - g_t-1
        self.rho = [mx.nd.zeros((self.n,), ctx) for _ in range(m)]  # 1 / s.y, 0 for a pair not kept
        self.order: List[int] = []  # slots, oldest first
        self.scale = np.zeros(self.n)  # gamma = s.y / y.y of the newest kept pair; 0: none yet
        self.f = self.terms = None  # the loss minimised and the graph's terms, at x, per sample
        self.evaluations = 0

    def evaluate(self) -> Tuple[np.ndarray, np.ndarray]:
        """The graph's terms and the full loss at ``graph.data`` (host); the full gradient into ``self.g``."""
        mx, wd = self.mx, self.s.weight_decay
        self.gradient()
        self.evaluations += 1
        terms = self.graph.sample_losses().astype(np.float64)
        grad = self.graph.grad.reshape((self.n, -1))
        if not wd:
            grad.copyto(self.g)
            return terms, terms
        mx.nd.elemwise_add(grad, wd * self.flat, out=self.g)
        squares = mx.nd.sum(mx.nd.square(self.flat), axis=1).asnumpy().astype(np.float64)
        return terms, terms + 0.5 * wd * squares

    def step(self, update: int, running: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        if self.f is None:
            self.terms, self.f = self.evaluate()
        self.graph.data.copyto(self.previous)
        self.g.copyto(self.g_old)
        before = self.terms.copy()
        direction, slope = self.direction(running)
        self.line_search(direction, slope, running)
        self.remember(running)
        return relative_change(self.graph.data, self.previous), before

    def direction(self, running: List[int]) -> Tuple[object, np.ndarray]:
        """-H g by the two-loop recursion, and each sample's slope g.d; a sample whose direction does not
        descend forgets its pairs and takes a scaled steepest-descent step instead."""
        d = self._two_loop()
        slope = self._dot(self.g, d)
        lost = [i for i in running if not slope[i] < 0 and self.scale[i] > 0]
        if lost:
            self._forget(lost)
            d = self._two_loop()
            slope = self._dot(self.g, d)
        return d, slope

    def _two_loop(self):
        mx, n = self.mx, self.n
        fresh = self.scale == 0
        if fresh.any():  # first step of a sample: FIRST_STEP px root mean square along -g
            norms = mx.nd.norm(self.g, axis=1).asnumpy().astype(np.float64)
            with np.errstate(divide="ignore"):
                first = FIRST_STEP * math.sqrt(self.size) / norms
            scale = np.where(fresh, np.where(np.isfinite(first), first, 0.0), self.scale)
        else:
            scale = self.scale
        q = self.g.copy()
        alphas = []
        for slot in reversed(self.order):
            a = self.rho[slot] * mx.nd.sum(self.steps[slot] * q, axis=1)
            q -= mx.nd.broadcast_mul(self.turns[slot], a.reshape((n, 1)))
            alphas.append(a)
        r = mx.nd.broadcast_mul(q, mx.nd.array(scale.reshape(n, 1), q.context))
        for slot, a in zip(self.order, reversed(alphas)):
            b = self.rho[slot] * mx.nd.sum(self.turns[slot] * r, axis=1)
            r += mx.nd.broadcast_mul(self.steps[slot], (a - b).reshape((n, 1)))
        return -r

    def line_search(self, d, slope: np.ndarray, running: List[int]) -> None:
        """Each running sample backtracks from step 1 until Armijo holds; one that never does stays put
        (its change is then 0, so the loop stops it: no decrease is left to find)."""
        mx = self.mx
        t = np.zeros(self.n)
        searching = [i for i in running if slope[i] < 0]
        t[searching] = 1.0
        f, terms = self.f.copy(), self.terms.copy()
        for _ in range(self.s.lbfgs_evaluations):
            if not searching:
                break
            step = mx.nd.array(t.reshape(self.n, 1), d.context)
            mx.nd.elemwise_add(self.previous_flat, mx.nd.broadcast_mul(d, step), out=self.flat)
            new_terms, new_f = self.evaluate()
            still = []
            for i in searching:
                if new_f[i] <= self.f[i] + ARMIJO * t[i] * slope[i]:
                    f[i], terms[i] = new_f[i], new_terms[i]
                else:
                    t[i] = _shorter(t[i], self.f[i], slope[i], new_f[i])
                    still.append(i)
            searching = still
        for i in running:
            if i in searching or t[i] == 0:  # no step found: back to x_t-1 and its gradient
                self.flat[i] = self.previous_flat[i]
                self.g[i] = self.g_old[i]
        self.f, self.terms = f, terms

    def remember(self, running: List[int]) -> None:
        """Store this iteration's pair (s, y) for every sample; a sample whose pair fails the curvature
        test gets rho 0 for it, which makes the pair a no-op in its recursion."""
        mx, m = self.mx, self.s.lbfgs_history
        slot = self.order.pop(0) if len(self.order) == m else len(self.order)
        self.order.append(slot)
        mx.nd.elemwise_sub(self.flat, self.previous_flat, out=self.steps[slot])
        mx.nd.elemwise_sub(self.g, self.g_old, out=self.turns[slot])
        sy = self._dot(self.steps[slot], self.turns[slot])
        ss = self._dot(self.steps[slot], self.steps[slot])
        yy = self._dot(self.turns[slot], self.turns[slot])
        keep = np.zeros(self.n, bool)
        keep[running] = True
        with np.errstate(invalid="ignore"):
            keep &= np.isfinite(sy) & (sy > CURVATURE * np.sqrt(ss * yy)) & (yy > 0)
        rho = np.where(keep, 1.0 / np.where(keep, sy, 1.0), 0.0)
        self.rho[slot][:] = rho.astype(np.float32)
        self.scale = np.where(keep, sy / np.where(keep, yy, 1.0), self.scale)

    def _forget(self, samples: List[int]) -> None:
        for slot in self.order:
            rho = self.rho[slot].asnumpy()
            rho[samples] = 0.0
            self.rho[slot][:] = rho
        self.scale[samples] = 0.0

    def _dot(self, a, b) -> np.ndarray:
        return self.mx.nd.sum(a * b, axis=1).asnumpy().astype(np.float64)

    def describe(self, update: int) -> str:
        return f"{self.evaluations} evaluations"


def _shorter(t: float, f0: float, slope: float, f_t: float) -> float:
    """The minimiser of the quadratic through f(0), f'(0) and f(t), kept within [t/10, t/2]."""
    if not math.isfinite(f_t):
        return t / 10.0
    curvature = f_t - f0 - slope * t
    guess = -slope * t * t / (2.0 * curvature) if curvature > 0 else t / 2.0
    return min(max(guess, t / 10.0), t / 2.0)
