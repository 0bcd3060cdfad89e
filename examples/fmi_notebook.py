"""fmi_mx from Python: FMI of a few filters of one layer, and a style transfer, as a notebook would do it.

    python examples/fmi_notebook.py                # 128 px, untrained weights, about a minute
    python examples/fmi_notebook.py --size 32 --max-iterations 20 --out /tmp/fmi   # a few seconds

With pretrained weights (``fmi-mx weights fetch``) pass ``--weights models/vgg19.params``.
"""
import argparse
from pathlib import Path

import cv2
import numpy as np
import skimage.data

import fmi_mx


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="random:0", help="params file, or random[:SEED]")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--max-iterations", type=int, default=300)
    parser.add_argument("--out", default="outputs/example")
    a = parser.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    weights = fmi_mx.load_weights(a.weights)  # loaded once, reused by every call
    content = skimage.data.astronaut()  # any RGB array, a path or "sample:NAME" will do
    tiles = []
    for k in range(3):
        image, record = fmi_mx.invert(content, layers="relu1_2", mode="feature_map", filter=k, weights=weights,
                                      size=a.size, max_iterations=a.max_iterations)
        share = record["filter_energy_share"]["relu1_2"]
        print(f"filter {k}: {record['iterations']} iterations, energy share {share['content']:.3f} -> "
              f"{share['result']:.3f}")
        tiles.append(image)
    image, record = fmi_mx.style_transfer("sample:chelsea", "sample:brick", mode="gram", weights=weights,
                                          size=a.size, max_iterations=a.max_iterations)
    print(f"style transfer (gram): final loss {record['final_loss']:.4g}, "
          f"Gram distance {np.mean(list(record['gram_distance'].values())):.3f}")
    strip = np.hstack(tiles)
    cv2.imwrite(str(out / "fmi_relu1_2.png"), strip[:, :, ::-1])
    cv2.imwrite(str(out / "style_gram.png"), image[:, :, ::-1])
    print(f"wrote {out / 'fmi_relu1_2.png'} and {out / 'style_gram.png'} ({record['weights']['source']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
