"""``make inputs``: the paper's six images from the authors' repository, sha256-checked.

They are not ours to redistribute, so they are fetched on the user's machine into ``inputs/``.
"""
import hashlib
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict

from .. import files
from ..errors import FmiError

REPO = "https://raw.githubusercontent.com/xzqjack/FeatureMapInversion/master/input/"
SHA256: Dict[str, str] = {
    "golden_gate.jpg": "f8476ac216e0d409af2e52bf82ad2cdc3433e23d7895e6f9b2048fc014ed57ba",
    "tubingen.jpg": "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506",
    "frida_kahlo.jpg": "31464d00da060ef33943d16b0e941670a6944e29a688436b40d1b29eb3e23618",
    "seated_nude.jpg": "f398757cfb5346842c3bc309ca65d03381b38b1f5f8d7c60abe68a804a405cf1",
    "starry_night.png": "776279d5e9daf676fb7e36c9eab953497445d4b3422bdd660b96ce984ac39721",
    "the_scream.jpg": "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee",
}


#: our name -> the file's name in the authors' repository
UPSTREAM: Dict[str, str] = {
    "golden_gate.jpg": "the golden gate bridge.jpg",
    "tubingen.jpg": "the tubingen.jpg",
    "frida_kahlo.jpg": "the frida kahlo.jpg",
    "seated_nude.jpg": "the seated nude.jpg",
    "starry_night.png": "the starry night.png",
    "the_scream.jpg": "the scream.jpg",
}


def fetch(folder: Path, repo: str = REPO, timeout: float = 20.0) -> Path:
    """Download the missing images into ``folder``; a file with the wrong sha256 is never kept."""
    folder = Path(folder)
    for name, digest in SHA256.items():
        target = folder / name
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
            continue
        url = repo + urllib.parse.quote(UPSTREAM[name])
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except OSError as e:
            raise FmiError(f"cannot fetch {url} ({getattr(e, 'reason', None) or e}): download it by hand into "
                           f"{folder}/{name}") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise FmiError(f"{url} is not the expected file (sha256 {digest[:12]}...): download it by hand "
                           f"into {folder}/{name}")
        files.write_bytes(target, data)
    return folder
