"""Around the science: the demo, the paper's input images, and ``doctor`` for the machine's MXNet and GPUs."""
