(function () {
  "use strict";
  // Sortable tables: each sortable column header holds a <button class="sort">; the header cell carries
  // aria-sort while its column orders the rows. Blank or non-numeric cells of a numeric column stay last.
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  function key(row, col) {
    var cell = row.cells[col];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.trim() : v;
  }
  function sortBy(table, th, col, dir) {
    var numeric = th.getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var entries = Array.prototype.map.call(body.rows, function (row, i) {
      var k = key(row, col);
      var n = numeric ? parseFloat(k) : NaN;
      return {row: row, i: i, k: k, n: n, blank: k === "" || (numeric && isNaN(n))};
    });
    var sign = dir === "ascending" ? 1 : -1;
    entries.sort(function (a, b) {
      if (a.blank !== b.blank) { return a.blank ? 1 : -1; }
      var c = a.blank ? 0 : (numeric ? a.n - b.n : collator.compare(a.k, b.k));
      return c !== 0 ? sign * c : a.i - b.i;
    });
    entries.forEach(function (e) { body.appendChild(e.row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (other) {
      if (other !== th) { other.removeAttribute("aria-sort"); }
    });
    th.setAttribute("aria-sort", dir);
    var status = document.getElementById(table.id + "-status");
    if (status) {
      status.textContent = "Table sorted by " + th.querySelector("button.sort").textContent.trim() + ", " + dir + ".";
    }
  }
  // Row filters: shown only when this script runs (without it every row stays visible); a row is kept when
  // its text holds every word typed, whatever the case. The count beside the box says how many are shown.
  Array.prototype.forEach.call(document.querySelectorAll("input.filter-input"), function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var count = document.getElementById(input.getAttribute("data-table") + "-count");
    if (!table || !table.tBodies[0]) { return; }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    input.parentNode.hidden = false;
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(function (w) { return w !== ""; });
      var shown = 0;
      rows.forEach(function (row, i) {
        var keep = words.every(function (w) { return texts[i].indexOf(w) !== -1; });
        row.hidden = !keep;
        if (keep) { shown += 1; }
      });
      if (count) {
        count.textContent = words.length ? shown + " of " + rows.length + " rows shown" : rows.length + " rows";
      }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    Array.prototype.forEach.call(head.cells, function (th, col) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        var dir = now === "ascending" ? "descending" : now === "descending" ? "ascending" : "ascending";
        sortBy(table, th, col, dir);
      });
    });
  });
})();
