"""The filter atlas: every filter of some layers inverted from several content images (an ordinary
sweep), the texture-identity score (``score``: numpy; ``texture``: the network's descriptors) and a
static site to browse them (``site``); ``build`` puts the three together after the sweep."""
