/* Charts of a site or AP page from /api/v1/.../series: one plotly figure per chart.
   Titles, units, colours and thresholds come from the measurement catalogue (server side). */
(function () {
  "use strict";
  var HM = window.HM, box = document.getElementById("charts");
  if (!box || !window.Plotly) return;

  function trace(t) {
    var base = { name: t.name, x: t.x, y: t.y };
    switch (t.kind) {
      case "step": return Object.assign(base, { type: "scatter", mode: "lines", line: { shape: "hv", color: t.colour } });
      case "stacked": return Object.assign(base, { type: "scatter", mode: "lines", stackgroup: "one", line: { color: t.colour } });
      case "bar": return Object.assign(base, { type: "bar", marker: { color: t.colour } });
      case "timeline": return Object.assign(base, { type: "bar", orientation: "h", base: t.base, text: t.text,
        hoverinfo: "text", textposition: "none", marker: { color: t.colour } });
      default: return Object.assign(base, { type: "scatter", mode: "lines", line: { color: t.colour } });
    }
  }

  function figure(c) {
    var timeline = c.traces.length && c.traces[0].kind === "timeline";
    var layout = {
      title: { text: c.title, font: { size: 14 } }, height: timeline ? 140 + 18 * new Set(c.traces[0].y).size : 260,
      margin: { l: timeline ? 110 : 50, r: 10, t: 36, b: 36 }, separators: HM.separators,
      legend: { orientation: "h", y: -0.25 }, barmode: timeline ? "overlay" : "group",
      yaxis: { title: { text: c.unit }, rangemode: "tozero" }, xaxis: { type: c.x_type || "date" }
    };
    if (timeline) { layout.xaxis = { type: "date" }; layout.yaxis = { type: "category", automargin: true }; layout.showlegend = false; }
    if (c.y_range) layout.yaxis.range = c.y_range;
    if (c.threshold !== null && c.threshold !== undefined) {
      layout.shapes = [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: c.threshold, y1: c.threshold, line: { dash: "dash", color: "#d73027", width: 1 } }];
      layout.annotations = [{ xref: "paper", x: 1, y: c.threshold, xanchor: "right", yanchor: "bottom", showarrow: false, text: (c.threshold_label || "") + " " + HM.num(c.threshold, 1), font: { size: 10, color: "#d73027" } }];
    }
    return { data: c.traces.map(trace), layout: layout };
  }

  box.replaceChildren(HM.el("p", { "class": "muted" }, HM.texts.loading));
  HM.getJSON(box.dataset.src).then(function (d) {
    box.replaceChildren();
    // all boxes first, so the grid has its final columns before plotly measures them
    var divs = d.charts.map(function (c) {
      var div = HM.el("div", { "class": "chart", "data-chart": c.id, "data-points": String(c.points) });
      box.appendChild(div);
      return div;
    });
    var jobs = d.charts.map(function (c, i) {
      var div = divs[i];
      if (!c.points) {
        div.appendChild(HM.el("h3", {}, c.title));
        div.appendChild(HM.el("p", { "class": "muted" }, HM.texts.no_data));
        return Promise.resolve();
      }
      var f = figure(c);
      return Plotly.newPlot(div, f.data, f.layout, { displaylogo: false, responsive: true });
    });
    var rb = document.getElementById("reboots");
    if (rb && d.reboots) rb.textContent = d.reboots.length ? HM.texts.reboots + " " + d.reboots.map(function (t) { return HM.time(t); }).join(", ") : HM.texts.no_reboots;
    return Promise.all(jobs).then(function () { box.dataset.ready = "1"; });
  }).catch(function (e) {
    box.replaceChildren(HM.el("p", { "class": "error" }, HM.texts.error));
    box.dataset.error = String(e);
  });
})();
