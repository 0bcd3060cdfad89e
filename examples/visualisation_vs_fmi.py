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
# # Feature visualisation beside FMI
#
# FMI shows what a filter *extracts* from a picture; feature visualisation (Olah et al., Distill 2017)
# shows what it *wants*: the picture that makes it fire most, found from noise with Lucid's settings (a
# decorrelated Fourier parameterisation, random transforms, Adam). Here both, for a few filters of trained
# VGG-19, and the agreement score: does a filter's visualisation find that filter's FMIs among all of them?

# %% tags=["parameters"]
SIZE = 96  # px, both the visualisations and the FMIs
ITERATIONS = 256  # Adam updates per visualisation (Lucid: 512)
FMI_ITERATIONS = 50  # L-BFGS updates per FMI
LAYER = "relu3_2"
FILTERS = [0, 1, 2, 3, 4, 5]
PICTURES = ["sample:astronaut", "sample:coffee"]
TRAINED = "../models/vgg19.params"  # `make weights`; untrained weights stand in where it is missing

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import fmi_mx
from fmi_mx.atlas.texture import layer_agreement
from fmi_mx.core.run.engine import Runner

weights = fmi_mx.load_weights(TRAINED if Path(TRAINED).exists() else "random:0", "vgg19")
print(weights.title + ("" if weights.pretrained else " (untrained weights)"))

# %%
visuals, grid = [], []
for k in FILTERS:
    image, record = fmi_mx.visualise(layer=LAYER, filter=k, weights=weights, size=SIZE, max_iterations=ITERATIONS)
    visuals.append(image)
    print(f"filter {k}: mean activation {record['activation'][LAYER]:.1f} after {record['iterations']} updates")
    grid.append([fmi_mx.invert(picture, layers=LAYER, mode="feature_map", filter=k, weights=weights, size=SIZE,
                               method="lbfgs", max_iterations=FMI_ITERATIONS, remove_noise=0)[0]
                 for picture in PICTURES])

# %%
fig, axes = plt.subplots(len(FILTERS), 1 + len(PICTURES), figsize=(1.9 * (1 + len(PICTURES)), 1.9 * len(FILTERS)))
for row, k in enumerate(FILTERS):
    axes[row, 0].imshow(visuals[row])
    axes[row, 0].set_ylabel(f"filter {k}", fontsize=8)
    for i, picture in enumerate(grid[row]):
        axes[row, 1 + i].imshow(picture)
for col, title in enumerate(["visualisation"] + [f"FMI, {p.split(':')[-1]}" for p in PICTURES]):
    axes[0, col].set_title(title, fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"{LAYER} of VGG-19: what each filter wants, what it extracts")
fig.tight_layout()

# %% [markdown]
# ## Agreement
#
# For each picture, filter k's FMI is ranked among all the filters' FMIs by its texture distance to
# filter k's visualisation (Gram descriptors at relu1_1..relu3_1). Agreement accuracy is the share of
# rank 1; chance is one over the number of filters.

# %%
s = layer_agreement(Runner(weights, "cpu"), grid, visuals, FILTERS).summary
print(f"agreement accuracy {s['agreement_accuracy']:.2f}, MRR {s['agreement_mrr']:.2f} (chance {s['chance_accuracy']:.2f}, "
      f"labels shuffled {s['shuffled_accuracy']:.2f}; {s['filters_scored']} of {s['filters']} filters scored)")

# %% [markdown]
# A filter's visualisation carries its pattern but not the colours and scale a photograph gives it, so the
# two agree less often than two FMIs of one filter do. `make visualisation` measures both on 16 filters of
# three layers of VGG-16.
