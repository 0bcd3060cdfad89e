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
# # A first FMI, and texture identity
#
# Feature map inversion (FMI) puts the energy of a layer's whole code into one filter's map and inverts it:
# the picture that comes back shows the texture that filter extracts. The paper's claim is that the texture
# is the filter's own, whatever the picture. Here: four filters of relu3_2, each inverted from three
# pictures, then the texture-identity score, on trained VGG-19 (the paper's network) and on the same
# network untrained.
#
# The parameters below are the committed run's; CI runs this notebook at a few pixels and updates.

# %% tags=["parameters"]
SIZE = 96  # the pictures' long edge, px
ITERATIONS = 50  # L-BFGS updates per FMI (the faithful SGD runs to its stop; L-BFGS is faster)
LAYER = "relu3_2"
FILTERS = [0, 1, 2, 3]
PICTURES = ["sample:astronaut", "sample:coffee", "sample:chelsea"]
TRAINED = "../models/vgg19.params"  # `make weights`; untrained weights stand in where it is missing

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import fmi_mx
from fmi_mx.atlas.texture import layer_score
from fmi_mx.core.image import images
from fmi_mx.core.run.engine import Runner

specs = {"trained": TRAINED if Path(TRAINED).exists() else "random:1", "untrained": "random:0"}
weight_sets = {name: fmi_mx.load_weights(spec, "vgg19") for name, spec in specs.items()}
for name, w in weight_sets.items():
    print(f"{name}: {w.title}")


# %% [markdown]
# ## FMI of each filter from each picture
#
# `fmi_mx.invert` returns the picture and the record that the command line writes as a JSON sidecar.
# `remove_noise=0` keeps the raw result: the identity score reads pictures before denoising.

# %%
def fmi_grid(weights):
    """grid[k][i]: filter k's FMI from picture i."""
    return [[fmi_mx.invert(picture, layers=LAYER, mode="feature_map", filter=k, weights=weights, size=SIZE,
                           method="lbfgs", max_iterations=ITERATIONS, remove_noise=0)[0]
             for picture in PICTURES] for k in FILTERS]


grids = {name: fmi_grid(w) for name, w in weight_sets.items()}

# %%
contents = [images.read(p) for p in PICTURES]
columns = len(grids) * len(PICTURES)
fig, axes = plt.subplots(1 + len(FILTERS), columns, figsize=(columns * 1.6, (1 + len(FILTERS)) * 1.6))
for s, name in enumerate(grids):
    for i, picture in enumerate(contents):
        axes[0, s * len(PICTURES) + i].imshow(picture)
        axes[0, s * len(PICTURES) + i].set_title(f"{name}\n{PICTURES[i].split(':')[-1]}", fontsize=8)
    for row, k in enumerate(FILTERS):
        for i in range(len(PICTURES)):
            axes[row + 1, s * len(PICTURES) + i].imshow(grids[name][row][i])
        axes[row + 1, s * len(PICTURES)].set_ylabel(f"filter {k}", fontsize=8)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"FMI of {LAYER} of VGG-19: each row one filter, from three pictures")
fig.tight_layout()

# %% [markdown]
# Along a row of the trained network, one filter gives one texture from three different pictures. The
# untrained network's rows share less.
#
# ## The texture-identity score
#
# Each result's texture is described by Gram matrices of a network's codes at relu1_1..relu3_1 (Gatys'
# texture representation). For filter k and pictures i and j, the right match is filter k's result from j;
# its rank among every filter's result from j is 1 when the filter is recognised. Identity accuracy is the
# share of rank 1; chance is one over the number of filters. Each network judges its own results here, as
# the atlas does.

# %%
for name, w in weight_sets.items():
    s = layer_score(Runner(w, "cpu"), grids[name], FILTERS).summary
    print(f"{name:9s} identity accuracy {s['identity_accuracy']:.2f}  (chance {s['chance_accuracy']:.2f}, "
          f"labels shuffled {s['shuffled_accuracy']:.2f}, between/within distance {s['between_within_ratio']:.2f})")

# %% [markdown]
# With four filters the score is coarse; `make claim-vgg19` measures 32 filters of three layers with
# intervals (trained 0.89-0.99 against untrained 0.23-0.41), and `make claim-layers` every layer.
