/* Overview: refresh KPIs, open outages and events from /api/v1/overview without reloading. */
(function () {
  "use strict";
  var HM = window.HM, box = document.getElementById("kpis");
  if (!box) return;
  var every = 1000 * (parseFloat(box.dataset.refresh) || 15);

  function pick(obj, path) {
    return path.split(".").reduce(function (o, k) { return o === null || o === undefined ? o : o[k]; }, obj);
  }
  function render(d) {
    document.querySelectorAll("[data-kpi]").forEach(function (e) {
      var v = pick(d.kpis, e.dataset.kpi), f = e.dataset.format;
      e.textContent = f === "bytes" ? HM.bytes(v) : f === "pct" ? HM.pct(v, 3) : HM.num(v);
      if (e.dataset.kpi === "month_availability_pct")
        e.classList.toggle("below", v !== null && v < d.kpis.sla_target_pct);
    });
    HM.setStale(d.kpis.stale, d.kpis.problems);
    document.getElementById("updated").textContent = HM.time(d.kpis.at, false);
    var tbody = document.querySelector("#open-outages tbody");
    tbody.replaceChildren();
    var now = Date.parse(d.kpis.at);
    d.open_outages.forEach(function (o) {
      tbody.appendChild(HM.el("tr", { "data-outage": o.id },
        HM.el("td", {}, HM.el("a", { href: "/aps/" + encodeURIComponent(o.ap) }, o.ap)),
        HM.el("td", {}, HM.el("a", { href: "/sites/" + encodeURIComponent(o.site) }, o.site)),
        HM.el("td", {}, HM.time(o.start)),
        HM.el("td", {}, HM.duration((now - Date.parse(o.start)) / 1000)),
        HM.el("td", {}, HM.texts.reasons[o.reason] || o.reason)));
    });
    if (!d.open_outages.length)
      tbody.appendChild(HM.el("tr", { "class": "none" }, HM.el("td", { colspan: "5" }, HM.texts.no_open)));
    var ul = document.getElementById("events");
    ul.replaceChildren();
    d.events.forEach(function (e) {
      var tail = e.state === "down" ? ": " + (HM.texts.reasons[e.reason] || e.reason)
        : e.duration_s !== null ? ", " + HM.texts.down_for + " " + HM.duration(e.duration_s) : "";
      ul.appendChild(HM.el("li", {}, HM.time(e.at) + " ", HM.stateBadge(e.state), " ",
        HM.el("a", { href: "/aps/" + encodeURIComponent(e.ap) }, e.ap), " (" + e.site + ")" + tail));
    });
    if (!d.events.length) ul.appendChild(HM.el("li", { "class": "none" }, HM.texts.no_events));
  }
  function tick() {
    HM.getJSON(box.dataset.src).then(function (d) {
      render(d);
      if (HM.refreshMap) HM.refreshMap();
    }).catch(function () { HM.setStale(true, ["fetch_failed"]); }).finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
