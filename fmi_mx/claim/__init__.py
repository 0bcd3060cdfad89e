"""The paper's claim as a measured result: one FMI atlas per weight set (trained and untrained), then
their texture-identity scores with intervals, side by side (``compare``), from numpy statistics
(``stats``), drawn (``figure``) and put on a page beside the atlases (``page``)."""
