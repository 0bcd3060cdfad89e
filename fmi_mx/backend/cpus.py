"""How many cores this process may use (no MXNet import: worker processes ask before importing it)."""
import os
from pathlib import Path


def physical_cores(sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Cores this process may run on, hyperthread siblings counted once."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    siblings = set()
    for cpu in usable:
        try:
            siblings.add((sysfs / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text().strip())
        except OSError:
            siblings.add(str(cpu))
    return max(1, len(siblings))
