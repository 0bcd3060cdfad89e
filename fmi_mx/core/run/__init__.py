"""The run: the engine, its graphs and their keys, memory planning, and the records it writes."""
