"""The science: VGG-16 and VGG-19 as tables (``vgg``), their weights, images in and out, the code modifications
(``codes``), loss terms, the bound graph, the optimiser, the task kinds (``tasks``) and the engine
that runs them (``engine``), the memory plan, and the record saved beside every picture.
"""
