// Sorting the tiles of a layer page and jumping to a filter; no libraries, works from file://.
(function () {
  var grid = document.getElementById("tiles");
  function sortBy(key, descending) {
    var tiles = Array.prototype.slice.call(grid.children);
    tiles.sort(function (a, b) {
      var d = parseFloat(a.dataset[key]) - parseFloat(b.dataset[key]);
      if (d === 0) { d = parseFloat(a.dataset.index) - parseFloat(b.dataset.index); return d; }
      return descending ? -d : d;
    });
    tiles.forEach(function (tile) { grid.appendChild(tile); });
  }
  document.getElementById("sort-index").addEventListener("click", function () { sortBy("index", false); });
  document.getElementById("sort-score").addEventListener("click", function () { sortBy("score", true); });
  document.getElementById("jump").addEventListener("submit", function (event) {
    event.preventDefault();
    var tile = document.getElementById("f" + document.getElementById("jump-to").value);
    if (!tile) { return; }
    Array.prototype.forEach.call(grid.children, function (t) { t.classList.remove("target"); });
    tile.classList.add("target");
    tile.scrollIntoView({block: "center"});
  });
})();
