"""The atlas site at the size of the whole network: a synthetic atlas of VGG-19's 5,504 filters (its 16 ReLU
layers, three tiny FMI thumbnails and a visualisation per filter, made here), laid out by the atlas's own
page builder and templates, then opened in headless Chromium: a 512-filter layer page loads in under a
second and reads only the thumbnails in view, scrolling loads the rest, sorting, the score filter and the
index's search work, and a filter page links its nearest filters. Skipped, saying why, without Chromium."""
import json
import time

import numpy as np
import pytest

from fmi_mx.atlas import build, site
from fmi_mx.core.image import images
from fmi_mx.core.network import vgg
from fmi_mx.records import JobRecord
from test_atlas_site import _driver

pytestmark = pytest.mark.slow
CONTENTS = ("sample:astronaut", "sample:chelsea", "sample:coffee")
TINY = 12  # px: the thumbnails' edge here (the real ones are 96 px)

TIMING = """
const n = performance.getEntriesByType('navigation')[0];
return [n.domContentLoadedEventEnd, n.loadEventEnd];
"""
READ = """
return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute('src'));
"""


def synthetic_atlas(folder):
    """Every filter of VGG-19 with three FMI thumbnails, a visualisation and scores that vary, as the atlas
    builder lays them out (thumbnails are tiny random JPEGs; pictures are not needed by the pages)."""
    rng = np.random.default_rng(0)
    net = vgg.network("vgg19")
    contents = {c: {"name": images.short_name(c), "thumb": f"content/{n}.jpg"} for n, c in enumerate(CONTENTS)}
    layers, records = [], {}

    def job(name: str) -> str:
        images.write(folder / "thumbs" / f"{name}.jpg", rng.integers(0, 256, (TINY, TINY, 3), dtype=np.uint8))
        records[name] = JobRecord.read({"job": name, "iterations": 50, "stop_reason": "max_iterations",
                                        "seconds_per_iteration": 0.1, "final_loss": 1.0, "image_size": [96, 96],
                                        "code_error": {"x": 0.5}, "activation": {"x": 3.0},
                                        "filter_energy_share": {"x": {"content": 0.01, "result": 0.02}}})
        return name

    for layer in (spec for spec in net.layers if spec.kind == "relu"):
        by_filter = {k: [job(f"{layer.name}-{k}-{i}") for i in range(len(CONTENTS))] for k in range(layer.channels)}
        visuals = {k: job(f"{layer.name}-{k}-v") for k in range(layer.channels)}
        accuracy = rng.choice([0.0, 1 / 3, 2 / 3, 1.0], layer.channels)
        score = {"summary": None, "agreement": {"filters": {str(k): {"agreement_accuracy": float(rng.random()),
                                                                     "agreement_mrr": 0.5}
                                                            for k in range(layer.channels)}},
                 "filters": {str(k): {"identity_accuracy": float(accuracy[k]), "mean_reciprocal_rank": 0.5,
                                      "ranks": [], "neighbours": [{"filter": (k + d) % layer.channels, "distance": 0.1 * d}
                                                                  for d in (1, 2, 3)]}
                             for k in range(layer.channels)}}
        layers.append(build._layer(layer.name, layer.channels, build.LayerJobs(CONTENTS, by_filter), score, records,
                                   contents, visuals))
    for n in range(len(CONTENTS)):
        images.write(folder / "content" / f"{n}.jpg", rng.integers(0, 256, (TINY, TINY, 3), dtype=np.uint8))
    atlas = {"name": "whole-vgg19", "version": "test", "weights_text": "synthetic", "size": 96, "contents":
             list(contents.values()), "descriptor_layers": ["relu1_1"], "thumb_width": 96, "thumb_height": 96}
    return site.render(folder, atlas, layers), layers


def test_a_site_of_every_filter_of_vgg19_in_chromium(tmp_path):
    folder = tmp_path / "atlas"
    start = time.perf_counter()
    index, layers = synthetic_atlas(folder)
    made = time.perf_counter() - start
    assert sum(len(layer["filters"]) for layer in layers) == 5504 and len(layers) == 16
    assert len(list(folder.glob("relu*/*.html"))) == 5504
    driver = _driver(tmp_path)
    measured = {"seconds_to_make": round(made, 1)}
    try:
        page = folder / "relu5_4.html"
        driver.get(page.as_uri())
        dom, load = driver.execute_script(TIMING)
        read = set(driver.execute_script(READ))
        weight = page.stat().st_size + sum((page.parent / src).stat().st_size for src in read)
        tiles = driver.find_elements("css selector", "#tiles .tile")
        measured.update(layer_page_html_kb=round(page.stat().st_size / 1024), dom_ms=round(dom), load_ms=round(load),
                        thumbnails_read_at_load=len(read), thumbnails_on_page=4 * len(tiles),
                        kb_read_at_load=round(weight / 1024))
        assert len(tiles) == 512 and load < 1000, measured
        assert 0 < len(read) < 4 * 512 / 4, measured  # lazy: only what is in view (and a little beyond)

        start = time.perf_counter()
        while driver.execute_script("const y = window.scrollY; window.scrollBy(0, 900); return window.scrollY > y;"):
            pass  # a screen at a time to the end (tiles off screen are laid out as they come in view)
        driver.execute_script("document.querySelector('#tiles .tile:last-child').scrollIntoView()")
        last = driver.find_elements("css selector", "#tiles .tile:last-child img")
        deadline = time.time() + 20
        while not all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                      for img in last) and time.time() < deadline:
            time.sleep(0.05)
        measured["scroll_to_last_tile_ms"] = round(1000 * (time.perf_counter() - start))
        assert all(driver.execute_script("return arguments[0].naturalWidth > 0", img) for img in last)

        start = time.perf_counter()
        driver.find_element("id", "sort-score").click()
        measured["sort_512_ms"] = round(1000 * (time.perf_counter() - start))
        scores = [float(t.get_attribute("data-score")) for t in driver.find_elements("css selector", "#tiles .tile")]
        assert scores == sorted(scores, reverse=True)
        accuracy = [float(t.get_attribute("data-accuracy")) for t in driver.find_elements("css selector", "#tiles .tile")]
        least = driver.find_element("id", "min-score")
        least.clear()
        least.send_keys("0.6")
        kept = sum(a >= 0.6 for a in accuracy)
        assert driver.find_element("id", "shown").text == f"{kept} of 512 shown" and 0 < kept < 512
        assert len([t for t in driver.find_elements("css selector", "#tiles .tile") if t.is_displayed()]) == kept

        for k in (0, 511):  # the two filter pages opened show their full pictures
            for name in [f"relu4_2-{k}-{i}" for i in range(len(CONTENTS))] + [f"relu4_2-{k}-v"]:
                images.write(tmp_path / name / "result.png", np.full((TINY, TINY, 3), 128, np.uint8))
        driver.get(index.as_uri())
        measured["index_load_ms"] = round(driver.execute_script(TIMING)[1])
        driver.find_element("css selector", "#find-layer option[value='relu4_2']").click()
        driver.find_element("id", "find-filter").send_keys("511")
        driver.find_element("css selector", "#find button").click()
        assert driver.current_url.endswith("/relu4_2/511.html")
        measured["filter_page_load_ms"] = round(driver.execute_script(TIMING)[1])
        neighbours = driver.find_elements("css selector", "#neighbours a")
        assert [n.get_attribute("href").rsplit("/", 1)[1] for n in neighbours] == ["0.html", "1.html", "2.html"]
        neighbours[0].click()
        assert driver.current_url.endswith("/relu4_2/0.html")
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
    print("\nwhole-network site:", json.dumps(measured))
