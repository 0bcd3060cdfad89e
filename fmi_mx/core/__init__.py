"""The science, in rooms: ``network/`` (VGG tables, weights, the encoder), ``objectives/`` (loss terms, code
modifications, objectives that compose), ``image/`` (pictures in and out, parameterisations, transforms),
``optimisation/`` (the loop and the stream, the optimisers, their settings) and ``run/`` (the engine, its
graphs, memory, records); beside them the task kinds (``tasks``), the option declarations (``options``) and
the value rules (``rules``).
"""
