// The atlas pages' controls: a layer page's sorting, score filter and jump to a filter; the index's search by
// layer and filter. No libraries; works from file://.
(function () {
  var grid = document.getElementById("tiles");
  function on(id, event, handler) {
    var element = document.getElementById(id);
    if (element) { element.addEventListener(event, handler); }
  }
  function tiles() { return Array.prototype.slice.call(grid.children); }
  function sortBy(key, descending) {
    var sorted = tiles();
    sorted.sort(function (a, b) {
      var d = parseFloat(a.dataset[key]) - parseFloat(b.dataset[key]);
      if (d === 0) { return parseFloat(a.dataset.index) - parseFloat(b.dataset.index); }
      return descending ? -d : d;
    });
    sorted.forEach(function (tile) { grid.appendChild(tile); });
  }
  function showAtLeast(value) {
    var least = parseFloat(value) || 0, shown = 0, all = tiles();
    all.forEach(function (tile) {
      var keep = parseFloat(tile.dataset.accuracy) >= least || least <= 0;
      tile.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    document.getElementById("shown").textContent = shown + " of " + all.length + " shown";
  }
  if (grid) {
    on("sort-index", "click", function () { sortBy("index", false); });
    on("sort-score", "click", function () { sortBy("score", true); });
    on("sort-agreement", "click", function () { sortBy("agreement", true); });
    on("min-score", "input", function (event) { showAtLeast(event.target.value); });
    on("jump", "submit", function (event) {
      event.preventDefault();
      var tile = document.getElementById("f" + document.getElementById("jump-to").value);
      if (!tile) { return; }
      tiles().forEach(function (t) { t.classList.remove("target"); });
      tile.hidden = false;
      tile.classList.add("target");
      tile.scrollIntoView({block: "center"});
    });
  }
  on("find", "submit", function (event) {
    event.preventDefault();
    var layer = document.getElementById("find-layer"), k = parseInt(document.getElementById("find-filter").value, 10);
    var present = layer.options[layer.selectedIndex].dataset.filters.split(",");
    if (present.indexOf(String(k)) < 0) {
      document.getElementById("find-note").textContent = "filter " + (isNaN(k) ? "?" : k) + " of " + layer.value +
        " is not in this atlas (it holds " + present.length + " of its filters)";
      return;
    }
    window.location.href = layer.value + "/" + k + ".html";
  });
})();
