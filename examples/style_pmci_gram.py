# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Style transfer: PMCI against Gram
#
# Gatys' style transfer matches the Gram matrices of a style picture's codes (which filters fire
# together); the paper's PMCI matches only their channel sums (how much each filter fires). If every
# filter extracts its own texture, the sums say which textures make the style. Here both run on the same
# content and style, on trained VGG-19, with the paper's settings but the size.
#
# The style picture is drawn here (coloured swirls in strokes), so the notebook needs no painting.

# %% tags=["parameters"]
SIZE = 192  # px; PMCI's style grows with the picture's area (at the paper's 512 px it is strongest)
ITERATIONS = 300  # at most this many SGD updates (the original's optimiser and stop)
CONTENT = "sample:chelsea"
TRAINED = "../models/vgg19.params"  # `make weights`; untrained weights stand in where it is missing

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import fmi_mx
from fmi_mx.claim.measures import colour_distance
from fmi_mx.core.image import images

weights = fmi_mx.load_weights(TRAINED if Path(TRAINED).exists() else "random:0", "vgg19")
print(weights.title + ("" if weights.pretrained else " (untrained weights)"))


def swirls(size: int) -> np.ndarray:
    """A colourful style picture: hue turning with angle and radius, in strokes."""
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    phase = 6 * np.arctan2(y, x) + 14 * np.hypot(x, y)
    rgb = np.stack([np.sin(phase), np.sin(phase + 2.1), np.sin(phase + 4.2)], axis=-1)
    strokes = 0.5 + 0.5 * np.sin(40 * (x + 0.3 * np.sin(6 * y)))[..., None]
    return np.clip(127.5 + 110 * rgb * strokes, 0, 255).astype(np.uint8)


style = swirls(256)

# %% [markdown]
# ## Both losses, the paper's settings
#
# Content relu2_2 with weight alpha 10, style relu1_1..relu5_1 with weight beta 1, the original's SGD,
# its stop and its denoising of the saved picture.

# %%
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
results = {mode: fmi_mx.style_transfer(CONTENT, style, mode=mode, style_layers=STYLE_LAYERS, weights=weights,
                                       size=SIZE, max_iterations=ITERATIONS)
           for mode in ("gram", "pmci")}

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
axes[0].imshow(images.read(CONTENT))
axes[0].set_title("content")
axes[1].imshow(style)
axes[1].set_title("style")
for ax, (mode, (image, record)) in zip(axes[2:], results.items()):
    ax.imshow(image)
    ax.set_title(f"{'Gatys (Gram)' if mode == 'gram' else 'PMCI (channel sums)'}, {record['iterations']} updates")
for ax in axes:
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# ## How much style each took
#
# Per style layer, the distance of the result's Gram matrices and channel sums from the style's, relative
# to the content picture's own distance, averaged over the layers: 1 means no style taken, 0 the style
# exactly. Beside them, how far the result's colours are from the style's (a histogram distance).

# %%
print(f"{'':6s} {'Gram style score':>17s} {'channel-sum score':>18s} {'colour distance':>16s}")
for mode, (image, record) in results.items():
    gram = np.mean(list(record["gram_style_score"].values()))
    sums = np.mean(list(record["channel_sum_style_score"].values()))
    print(f"{mode:6s} {gram:17.3f} {sums:18.3f} {colour_distance(image, style):16.3f}")

# %% [markdown]
# At this size Gatys' loss takes more of the style than PMCI's, by both measures. PMCI's style term grows
# with the picture's area against its content term, so PMCI takes more style as `SIZE` grows; `make fig5`
# runs the paper's 512 px, and the figure-5 diagnosis in the docs measures style against size, loss and
# denoising.
