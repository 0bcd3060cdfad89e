"""The picture: reading and writing, parameterisations, transforms, jitter and snapshots."""
