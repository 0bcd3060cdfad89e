"""The atlas end to end on a small sweep (relu1_1 and relu1_2, filters 0..7, three content images,
32 px): its score files, its site, a second run that only rebuilds the site, and the site in a real
headless Chromium (Debian's chromium + chromium-driver; skipped, saying why, where they are missing)."""
import csv
import json
import shutil
import time

import numpy as np
import pytest

from fmi_mx.cli import main

pytestmark = pytest.mark.slow
CONFIG = """name: atlas-test
figure: atlas
weights: random:0
size: 32
optimise: {max_iterations: 25}
panels:
  - {mode: feature_map, contents: [sample:astronaut, sample:chelsea, sample:coffee], layers: [relu1_1, relu1_2],
     filters: "0-7"}
"""


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas")
    config = root / "atlas-test.yaml"
    config.write_text(CONFIG)
    assert main(["atlas", str(config), "--runs", str(root / "runs")]) == 0
    return config, root / "runs" / "atlas-test"


def test_score_files_and_pages(atlas):
    _, run = atlas
    summary = json.loads((run / "scores.json").read_text())
    assert summary["weights"]["pretrained"] is False and summary["descriptor_layers"] == ["relu1_1", "relu2_1",
                                                                                         "relu3_1"]
    rows = list(csv.DictReader((run / "scores.csv").open()))
    assert len(rows) == 16 and len(rows[0]["ranks"].split()) == 6  # 3 x 2 ordered pairs
    for layer in ("relu1_1", "relu1_2"):
        s = summary["layers"][layer]["summary"]
        assert s["filters"] == 8 and s["content_images"] == 3 and s["chance_accuracy"] == 1 / 8
        mine = [row for row in rows if row["layer"] == layer]
        ranks = [[int(pair.rsplit(":", 1)[1]) for pair in row["ranks"].split()] for row in mine]
        for row, filter_ranks in zip(mine, ranks):  # each filter's numbers are its ranks' share of 1s and mean 1/r
            assert float(row["identity_accuracy"]) == pytest.approx(sum(r == 1 for r in filter_ranks) / 6)
            assert float(row["mean_reciprocal_rank"]) == pytest.approx(sum(1 / r for r in filter_ranks) / 6)
        assert s["identity_accuracy"] == pytest.approx(sum(float(row["identity_accuracy"]) for row in mine) / 8)
    site = run / "atlas"
    assert len(list((site / "relu1_2").glob("*.html"))) == 8 and (site / "index.html").is_file()
    assert len(list((site / "thumbs").glob("*.jpg"))) == 48 and all(p.stat().st_size < 8000
                                                                      for p in (site / "thumbs").glob("*.jpg"))
    from fmi_mx.atlas.build import MOSAIC_TILE
    from fmi_mx.core.image import images

    sheet = images.read(run / "mosaic-relu1_2.jpg")  # each filter's FMI from the first picture, in filter order
    assert sheet.shape == (MOSAIC_TILE, 8 * MOSAIC_TILE, 3)
    labels = {p.parent.name: json.loads(p.read_text())["labels"] for p in run.glob("*/result.json")}
    fifth = next(job for job, l in labels.items()
                 if (l["layer"], l["filter"], l["content"]) == ("relu1_2", 5, "sample:astronaut"))
    tile = images.resize(images.read(run / fifth / "result.png"), (MOSAIC_TILE, MOSAIC_TILE))
    assert np.abs(sheet[:, 5 * MOSAIC_TILE:6 * MOSAIC_TILE].astype(float) - tile).mean() < 6  # JPEG's error
    nearest = summary["layers"]["relu1_2"]["filters"]["3"]["neighbours"]
    assert len(nearest) == 6 and 3 not in [n["filter"] for n in nearest]
    assert [n["distance"] for n in nearest] == sorted(n["distance"] for n in nearest)
    assert f'href="{nearest[0]["filter"]}.html"' in (site / "relu1_2" / "3.html").read_text()
    for page in [site / "index.html", site / "relu1_1.html", site / "relu1_1" / "3.html"]:
        assert "random-he:seed=0 (UNTRAINED" in page.read_text()  # the weights on every page
    assert all((run / p.parent.name / "raw.png").is_file() for p in run.glob("*/result.json"))


def test_a_second_run_only_rebuilds_the_site(atlas, capsys):
    config, run = atlas
    stamps = {p: p.stat().st_mtime_ns for p in [run / "scores.json", *run.glob("*/result.json")]}
    index = (run / "atlas" / "index.html").stat().st_mtime_ns
    time.sleep(0.01)
    assert main(["atlas", str(config), "--runs", str(run.parent)]) == 0
    assert "all 48 jobs are finished" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # no job, no score recomputed
    assert (run / "atlas" / "index.html").stat().st_mtime_ns > index


def _driver(tmp_path):
    missing = [b for b in ("chromium", "chromedriver") if not shutil.which(b)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(options=options, service=service)


LOADED = """
const images = Array.from(document.images);
images.forEach(img => { img.loading = 'eager'; });
return images.map(img => [img.getAttribute('src'), img.complete && img.naturalWidth > 0]);
"""


def _all_images_load(driver):
    deadline = time.time() + 20
    while True:
        states = driver.execute_script(LOADED)
        if all(ok for _, ok in states) or time.time() > deadline:
            return states
        time.sleep(0.2)


def _order(driver):
    return [int(t.get_attribute("data-index")) for t in driver.find_elements("css selector", "#tiles .tile")]


def test_the_site_in_chromium(atlas, tmp_path):
    _, run = atlas
    driver = _driver(tmp_path)
    try:
        site = run / "atlas"
        driver.get((site / "index.html").as_uri())
        assert all(ok for _, ok in _all_images_load(driver))
        driver.find_element("link text", "relu1_2").click()
        states = _all_images_load(driver)
        assert states and all(ok for _, ok in states), [s for s, ok in states if not ok]
        assert _order(driver) == list(range(8))  # one tile per filter, by index
        scores = {int(t.get_attribute("data-index")): float(t.get_attribute("data-score"))
                  for t in driver.find_elements("css selector", "#tiles .tile")}
        driver.find_element("id", "sort-score").click()
        by_score = _order(driver)
        assert [scores[k] for k in by_score] == sorted(scores.values(), reverse=True)
        driver.find_element("id", "sort-index").click()
        assert _order(driver) == list(range(8))
        driver.find_element("id", "jump-to").send_keys("5")
        driver.find_element("css selector", "#jump button").click()
        assert "target" in driver.find_element("id", "f5").get_attribute("class")
        driver.save_screenshot(str(tmp_path / "screenshot.png"))  # for a person to look at; not in the site
        driver.find_element("id", "f3").click()
        assert driver.current_url.endswith("/relu1_2/3.html")
        assert "filter 3" in driver.find_element("id", "detail").text
        assert all(ok for _, ok in _all_images_load(driver))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
    assert (tmp_path / "screenshot.png").stat().st_size > 10000 and not (run / "atlas" / "screenshot.png").exists()
