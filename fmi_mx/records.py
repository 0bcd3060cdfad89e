"""A finished job's record as the figures, the atlas and the claim read it: the sidecar beside its picture,
typed, so that a reader names what it wants instead of walking nested dictionaries."""
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from .core.optimisation.loop import NEVER_FIRED, NON_FINITE



@dataclass(frozen=True)
class JobRecord:
    """What a job asked for, how its optimisation went and the numbers measured on its result."""

    job: str
    labels: Mapping[str, Any]  # the grid's names for it: content, mode, layer, filter, style, seed
    task: Mapping[str, Any]  # the task as it ran, its optimiser's settings under "optimise"
    iterations: int
    stop_reason: str
    seconds_per_iteration: float
    final_loss: float
    image_size: Tuple[int, int]
    history: Tuple[Tuple[int, float, float], ...] = ()  # (update, loss, relative change)
    code_error: Mapping[str, float] = field(default_factory=dict)  # per layer
    activation: Mapping[str, float] = field(default_factory=dict)  # visualisations: per layer
    energy_share: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # FMI: per layer, its filter's
    gram_distance: Mapping[str, float] = field(default_factory=dict)  # style transfer: per layer
    channel_sum_distance: Mapping[str, float] = field(default_factory=dict)
    sidecar: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # all of it, as written

    @classmethod
    def read(cls, sidecar: Mapping[str, Any]) -> "JobRecord":
        """The record of a sidecar (``result.json``); what a kind of job does not measure stays empty."""
        return cls(job=sidecar.get("job", ""), labels=sidecar.get("labels", {}), task=sidecar.get("task", {}),
                   iterations=sidecar["iterations"], stop_reason=sidecar["stop_reason"],
                   seconds_per_iteration=sidecar["seconds_per_iteration"], final_loss=sidecar["final_loss"],
                   image_size=tuple(sidecar["image_size"]),
                   history=tuple(tuple(h) for h in sidecar.get("history", ())),
                   code_error=sidecar.get("code_error", {}), activation=sidecar.get("activation", {}),
                   energy_share=sidecar.get("filter_energy_share", {}),
                   gram_distance=sidecar.get("gram_distance", {}),
                   channel_sum_distance=sidecar.get("channel_sum_distance", {}), sidecar=sidecar)

    @property
    def stop_eps(self) -> float:
        """The relative change below which the job stopped."""
        return self.task.get("optimise", {}).get("stop_eps", 0.0)

    @property
    def diverged(self) -> bool:
        return self.stop_reason == NON_FINITE

    @property
    def never_fired(self) -> bool:
        return self.stop_reason == NEVER_FIRED

    def fired(self, layer: str) -> bool:
        """Did the FMI's filter fire on its content at ``layer`` (a filter that never does leaves nothing to invert)?"""
        return self.energy_share[layer]["content"] > 0

    def mean_code_error(self) -> Optional[float]:
        return layer_mean(self.code_error)

    def share(self) -> Dict[str, float]:
        """Its filter's share of the code's energy at its first layer, in the content and in the result."""
        return dict(next(iter(self.energy_share.values()), {}))


def layer_mean(values: Mapping[str, float]) -> Optional[float]:
    """The mean of a per-layer measure, None without layers."""
    return sum(values.values()) / len(values) if values else None
