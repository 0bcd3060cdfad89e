"""L-BFGS on every sample of a batch at once, on the batch's device.

The loss it minimises is the graph's (terms and prior) plus weight_decay/2 ||x||^2, whose gradient is
what SGD follows too. Direction: the compact form of the inverse Hessian (Byrd, Nocedal & Schnabel
1994) over the last ``lbfgs_history`` curvature pairs, so the device does a few matrix-vector products
per iteration and the host solves m x m systems per sample. Step: a weak Wolfe line search per sample.
Only per-sample numbers go to the host; the images, gradients and pairs stay on the device.
"""
import math
from typing import Callable, List, Optional, Tuple

import numpy as np

from ..settings import Settings

ARMIJO = 1e-4  # sufficient decrease: f(x + t d) <= f(x) + ARMIJO t g.d
WOLFE = 0.9  # curvature: a step is long enough once g(x + t d).d >= WOLFE g(x).d
FIRST_STEP = 10.0  # px, root mean square: the size of a sample's first step (no curvature known yet)
LOSS_PRECISION = 1e-6  # relative: below this a float32 loss cannot show a decrease (Hager & Zhang's epsilon)
CURVATURE = 1e-8  # a pair is kept only if s.y > CURVATURE ||s|| ||y|| (keeps the inverse Hessian positive)


def coefficients(a: np.ndarray, b: np.ndarray, sy: np.ndarray, yy: np.ndarray,
                 gamma: float) -> Tuple[np.ndarray, np.ndarray]:
    """p, q with H g = gamma g + S p + gamma Y q, for pairs in time order: a = S'g, b = Y'g,
    sy[i, j] = s_i.y_j, yy = Y'Y (Byrd, Nocedal & Schnabel 1994, the inverse form)."""
    if a.size == 0:
        return a, a
    r = np.triu(sy)
    r_a = np.linalg.solve(r, a)
    p = np.linalg.solve(r.T, (np.diag(np.diag(sy)) + gamma * yy) @ r_a - gamma * b)
    return p, -r_a


class LBFGS:
    refills = False  # the line search and the pairs' order are shared by the batch: no job joins mid-way

    def __init__(self, graph, s: Settings, gradient: Callable[[], None]):
        from ....backend.mx import mx

        self.mx, self.graph, self.s, self.gradient = mx, graph, s, gradient
        x = graph.data
        n, m = x.shape[0], s.lbfgs.history
        self.n, self.m, ctx = n, m, x.context
        self.flat = x.reshape((n, -1))
        self.size = self.flat.shape[1]
        self.previous = mx.nd.zeros_like(x)
        self.previous_flat = self.previous.reshape((n, -1))
        self.g, self.g_old, self.best = (mx.nd.zeros(self.flat.shape, ctx) for _ in range(3))  # best: at the good step
        self.pairs_s = mx.nd.zeros((n, m, self.size), ctx)  # s = x_t - x_t-1, by slot
        self.pairs_y = mx.nd.zeros((n, m, self.size), ctx)  # y = g_t - g_t-1
        self.sy, self.yy = np.zeros((n, m, m)), np.zeros((n, m, m))  # s_i.y_j and y_i.y_j, by slot
        self.kept = np.zeros((n, m), bool)  # per sample, the slots its recursion uses
        self.order: List[int] = []  # slots, oldest first
        self.scale = np.zeros(n)  # gamma = s.y / y.y of the newest kept pair; 0: none yet
        self.f = self.terms = None  # the loss minimised and the graph's terms, at x, per sample
        self.evaluations = 0

    @staticmethod
    def state_images(s: Settings) -> int:
        """Image-sized buffers beyond SGD's: the pairs (s and y), gradients and line-search buffers."""
        return 2 * s.lbfgs.history + 5

    def evaluate(self, d=None) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """The graph's terms, the full loss and (given ``d``) the slope g.d at ``graph.data``, on the
        host; the full gradient into ``self.g``."""
        mx, wd = self.mx, self.s.weight_decay
        self.gradient()
        self.evaluations += 1
        grad = self.graph.grad.reshape((self.n, -1))
        if wd:
            mx.nd.elemwise_add(grad, wd * self.flat, out=self.g)
        else:
            grad.copyto(self.g)
        heads = [out.reshape((self.n, 1)) for out in self.graph.loss_outputs()]
        terms, squares, slope = self._dots((self.flat, self.flat), (self.g, d) if d is not None else None,
                                           extra=heads)  # one host sync: the losses come with the dots
        return terms, terms + 0.5 * wd * squares, slope

    def step(self, counts: np.ndarray, running: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        """One iteration: a direction, a line search along it, the new pair remembered."""
        if self.f is None:
            self.terms, self.f, _ = self.evaluate()
        self.graph.data.copyto(self.previous)
        self.g.copyto(self.g_old)
        before = self.terms.copy()
        direction, slope = self.direction(running)
        self.line_search(direction, slope, running)
        return self.remember(running), before

    def direction(self, running: List[int]) -> Tuple[object, np.ndarray]:
        """-H g, and each sample's slope g.d; a sample whose direction does not descend forgets its pairs
        and takes a scaled steepest-descent step instead."""
        mx, n = self.mx, self.n
        g3 = self.g.reshape((n, self.size, 1))
        a = mx.nd.batch_dot(self.pairs_s, g3).reshape((n, self.m))
        b = mx.nd.batch_dot(self.pairs_y, g3).reshape((n, self.m))
        gg = mx.nd.batch_dot(self.g.reshape((n, 1, self.size)), g3).reshape((n, 1))
        host = mx.nd.concat(a, b, gg, dim=1).asnumpy().astype(np.float64)
        a, b, gg = host[:, :self.m], host[:, self.m:2 * self.m], host[:, -1]
        with np.errstate(divide="ignore"):
            first = np.where(gg > 0, FIRST_STEP * math.sqrt(self.size) / np.sqrt(np.maximum(gg, 1e-300)), 0.0)
        gamma, p, q, slope = np.zeros(n), np.zeros((n, self.m)), np.zeros((n, self.m)), np.zeros(n)
        for i in running:
            cols = [slot for slot in self.order if self.kept[i, slot]]
            gamma[i] = self.scale[i] if cols else first[i]
            ix = np.ix_(cols, cols)
            p[i, cols], q[i, cols] = coefficients(a[i, cols], b[i, cols], self.sy[i][ix], self.yy[i][ix], gamma[i])
            slope[i] = -(gamma[i] * gg[i] + a[i] @ p[i] + gamma[i] * (b[i] @ q[i]))
            if cols and not slope[i] < 0:
                self.kept[i] = False
                gamma[i], p[i], q[i], slope[i] = first[i], 0.0, 0.0, -first[i] * gg[i]
        ctx = self.g.context
        d = mx.nd.broadcast_mul(self.g, mx.nd.array(gamma.reshape(n, 1), ctx))
        d += mx.nd.batch_dot(mx.nd.array(p.reshape(n, 1, self.m), ctx), self.pairs_s).reshape((n, self.size))
        d += mx.nd.batch_dot(mx.nd.array((gamma[:, None] * q).reshape(n, 1, self.m), ctx),
                             self.pairs_y).reshape((n, self.size))
        return -d, slope

    def line_search(self, d, slope: np.ndarray, running: List[int]) -> None:
        """A weak Wolfe line search per sample (Lewis & Overton's, made for non-smooth losses like a ReLU
        network's): from step 1, shorten while the step is too far, double while the slope is still
        steep, bisect once both ends are known. "Too far" is Armijo's test, or, where the loss is too
        large for float32 to show the decrease, Hager & Zhang's approximate Wolfe test on the slope.
        A sample that finds no step stays put (its change is then 0 and the loop stops it)."""
        n = self.n
        t, good, bad = np.zeros(n), np.zeros(n), np.full(n, np.inf)
        searching = [i for i in running if slope[i] < 0]
        t[searching] = 1.0
        f, terms = self.f.copy(), self.terms.copy()
        for _ in range(self.s.lbfgs.evaluations):
            if not searching:
                break
            self._place(d, t)
            new_terms, new_f, new_slope = self.evaluate(d)
            still = []
            for i in searching:
                if not _decreases(self.f[i], slope[i], t[i], new_f[i], new_slope[i]):
                    bad[i] = t[i]
                    t[i] = _shorter(t[i], slope[i], new_slope[i]) if good[i] == 0 else (good[i] + bad[i]) / 2
                    still.append(i)
                    continue
                good[i], f[i], terms[i] = t[i], new_f[i], new_terms[i]
                if new_slope[i] < WOLFE * slope[i]:  # still steep: go further
                    self.best[i] = self.g[i]
                    t[i] = 2.0 * t[i] if bad[i] == np.inf else (good[i] + bad[i]) / 2
                    still.append(i)
            searching = still
        if any(t[i] != good[i] for i in running):  # some sample's last trial was not its good step
            self._place(d, good)
            for i in running:
                if t[i] != good[i]:
                    self.g[i] = self.best[i] if good[i] > 0 else self.g_old[i]
        self.f, self.terms = f, terms

    def remember(self, running: List[int]) -> np.ndarray:
        """Store this iteration's pair (s, y) for every sample, in the oldest slot; a sample keeps it if it
        passes the curvature test. Returns each sample's ||s|| / ||x|| (its relative change)."""
        mx, n, m, size = self.mx, self.n, self.m, self.size
        slot = self.order.pop(0) if len(self.order) == m else len(self.order)
        self.order.append(slot)
        s_new, y_new = self.flat - self.previous_flat, self.g - self.g_old
        self.pairs_s[:, slot, :] = s_new
        self.pairs_y[:, slot, :] = y_new
        s3, y3 = s_new.reshape((n, size, 1)), y_new.reshape((n, size, 1))
        parts = [mx.nd.batch_dot(self.pairs_s, y3).reshape((n, m)), mx.nd.batch_dot(self.pairs_y, s3).reshape((n, m)),
                 mx.nd.batch_dot(self.pairs_y, y3).reshape((n, m)),
                 mx.nd.batch_dot(s_new.reshape((n, 1, size)), s3).reshape((n, 1)),
                 mx.nd.batch_dot(self.flat.reshape((n, 1, size)), self.flat.reshape((n, size, 1))).reshape((n, 1))]
        host = mx.nd.concat(*parts, dim=1).asnumpy().astype(np.float64)
        s_y, y_s, y_y, ss, xx = host[:, :m], host[:, m:2 * m], host[:, 2 * m:3 * m], host[:, -2], host[:, -1]
        self.sy[:, :, slot], self.sy[:, slot, :] = s_y, y_s  # s_i.y_new and s_new.y_j
        self.yy[:, :, slot], self.yy[:, slot, :] = y_y, y_y
        sy, yy = self.sy[:, slot, slot], self.yy[:, slot, slot]
        keep = np.zeros(n, bool)
        keep[running] = True
        with np.errstate(invalid="ignore"):
            keep &= np.isfinite(sy) & (sy > CURVATURE * np.sqrt(ss * yy)) & (yy > 0)
        self.kept[:, slot] = keep
        self.scale = np.where(keep, sy / np.where(keep, yy, 1.0), self.scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(ss / xx)

    def _place(self, d, t: np.ndarray) -> None:
        """x = x_t-1 + t d, each sample with its own step."""
        step = self.mx.nd.array(t.reshape(self.n, 1), d.context)
        self.mx.nd.elemwise_add(self.previous_flat, self.mx.nd.broadcast_mul(d, step), out=self.flat)

    def _dots(self, *pairs, extra=()) -> List[Optional[np.ndarray]]:
        """Per-sample dot products of (a, b) pairs of (n, D) arrays, with one host sync; None stays None.
        ``extra`` (n, 1) columns come first, summed into one (the graph's loss terms)."""
        mx, n, size = self.mx, self.n, self.size
        wanted = [p for p in pairs if p is not None]
        values = mx.nd.concat(*extra, *[mx.nd.batch_dot(a.reshape((n, 1, size)), b.reshape((n, size, 1)))
                                        .reshape((n, 1)) for a, b in wanted], dim=1).asnumpy()
        columns = iter(values[:, len(extra):].astype(np.float64).T)
        dots = [next(columns) if p is not None else None for p in pairs]
        return ([np.sum(values[:, :len(extra)], axis=1).astype(np.float64)] if extra else []) + dots

    def describe(self, update: int) -> str:
        return f"{self.evaluations} evaluations"


def _decreases(f0: float, slope0: float, t: float, f: float, slope: float) -> bool:
    """Armijo's sufficient decrease, or Hager & Zhang's approximate Wolfe test (the loss no higher
    within float32's reach, the slope not turned up): the step is not too far."""
    if not (math.isfinite(f) and math.isfinite(slope)):
        return False
    return f <= f0 + ARMIJO * t * slope0 or (f <= f0 + LOSS_PRECISION * abs(f0) and
                                             slope <= (2 * ARMIJO - 1) * slope0)


def _shorter(t: float, slope0: float, slope: float) -> float:
    """Where the slope, interpolated linearly between 0 and t, is zero; kept within [t/10, t/2]."""
    guess = t * slope0 / (slope0 - slope) if math.isfinite(slope) and slope > slope0 else t / 2.0
    return min(max(guess, t / 10.0), t / 2.0)
