/* Alerts page: every refresh_s ask /api/v1/alerts (same filters) whether the active alerts
   changed since the page was rendered; if so, offer a reload. No automatic reload: an
   operator may be typing an acknowledgement. */
(function () {
  "use strict";
  var HM = window.HM, box = document.getElementById("alerts-changed");
  if (!box || !box.dataset.src) return;
  var every = 1000 * (parseFloat(box.dataset.refresh) || 15);

  function signature(rows) {
    return rows.map(function (r) { return r[0] + "=" + r[1]; }).sort().join(";");
  }
  var shown = signature(Array.prototype.map.call(
    document.querySelectorAll("#alerts-firing tr[data-sig], #alerts-pending tr[data-sig]"),
    function (tr) { return [tr.dataset.alert, tr.dataset.sig]; }));

  function sigOf(a) {
    var s = a.suppressed ? a.suppressed.reason + (a.suppressed.ref ? ":" + a.suppressed.ref : "") : "";
    return a.state + "|" + (a.acknowledged ? 1 : 0) + "|" + s;
  }
  function tick() {
    HM.getJSON(box.dataset.src).then(function (d) {
      var now = signature(d.alerts.map(function (a) { return [String(a.id), sigOf(a)]; }));
      box.hidden = now === shown;
      ["firing", "acknowledged", "muted", "pending"].forEach(function (k) {
        var e = document.querySelector("[data-count='" + k + "']");
        if (e) e.textContent = HM.num(d.counts[k]);
      });
    }).catch(function () { HM.setStale(true, ["fetch_failed"]); }).finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
