"""fmi_mx: feature map inversion (FMI) and modified code inversion (PMCI) of VGG-19 in MXNet.

Port of the code behind Xia et al., "Every Filter Extracts a Specific Texture in
Convolutional Neural Networks" (arXiv 1608.04170).
"""
__version__ = "0.1.0"
