/* Coverage map: plotly "scattermap" on MapLibre with style white-bg (no tiles, no
   glyphs: nothing is fetched from outside), the kecamatan as a choroplethmap coloured
   by the share of sites up, kelurahan and kecamatan outlines as GeoJSON line layers.
   State is shown by colour AND marker shape (filled / ring / bullseye) AND words in the
   legend and hover text, never by colour alone. */
(function () {
  "use strict";
  var HM = window.HM, div = document.getElementById("map");
  if (!div || !window.Plotly) return;
  var geo = {}, drawn = false;
  // inner dot per state: [colour, size factor]; none = a filled circle
  var INNER = { up: null, degraded: ["#ffffff", 0.45], down: ["#3a0000", 0.45], unknown: ["#ffffff", 0.7], closed: ["#ffffff", 0.25] };

  function load(url) {
    if (!geo[url]) geo[url] = HM.getJSON(url);
    return geo[url];
  }
  function size(clients) { return 12 + Math.min(24, 3 * Math.sqrt(clients || 0)); }

  function traces(d, kec) {
    var out = [];
    var withSites = d.districts.filter(function (x) { return x.sites > 0; });
    out.push({
      type: "choroplethmap", geojson: kec, featureidkey: "id",
      locations: withSites.map(function (x) { return x.id; }),
      z: withSites.map(function (x) { return Math.round(100 * x.share_up); }),
      zmin: 0, zmax: 100, colorscale: [[0, "#d73027"], [0.5, "#fee08b"], [1, "#1a9850"]],
      marker: { opacity: 0.25, line: { width: 0 } }, showscale: false, name: HM.texts.share_up,
      hovertext: withSites.map(function (x) {
        return HM.texts.kecamatan + " " + x.name + ": " + x.sites_up + "/" + x.sites + " " + HM.texts.sites_up +
          ", " + HM.texts.availability_month + " " + HM.pct(x.month_availability_pct, 2);
      }),
      hoverinfo: "text", showlegend: false
    });
    Object.keys(d.states).forEach(function (state) {
      var ss = d.sites.filter(function (s) { return s.state === state; });
      if (!ss.length) return;
      var label = d.states[state].symbol + " " + (HM.texts.states[state] || state);
      var text = ss.map(function (s) {
        return s.name + "<br>" + d.states[state].symbol + " " + (HM.texts.states[state] || state) +
          "<br>" + s.aps_up + "/" + s.aps + " " + HM.texts.aps_up + "<br>" + HM.num(s.clients) + " " + HM.texts.clients;
      });
      var base = {
        type: "scattermap", mode: "markers", lat: ss.map(function (s) { return s.lat; }),
        lon: ss.map(function (s) { return s.lon; }), customdata: ss.map(function (s) { return s.id; }),
        hovertext: text, hoverinfo: "text", legendgroup: state
      };
      out.push(Object.assign({}, base, { name: label, marker: { color: d.states[state].colour, size: ss.map(function (s) { return size(s.clients); }), opacity: 0.95 } }));
      if (INNER[state]) {
        out.push(Object.assign({}, base, {
          name: label, showlegend: false,
          marker: { color: INNER[state][0], size: ss.map(function (s) { return size(s.clients) * INNER[state][1]; }) }
        }));
      }
    });
    return out;
  }

  function layout(d, kec, kel) {
    var layers = [
      { sourcetype: "geojson", source: kel, type: "line", color: "#9e9e9e", line: { width: 0.6 }, below: "traces" },
      { sourcetype: "geojson", source: kec, type: "line", color: "#424242", line: { width: 1.6 }, below: "traces" }
    ];
    if (d.tile_url) layers.unshift({ sourcetype: "raster", source: [d.tile_url], sourceattribution: d.tile_attribution || "", below: "traces" });
    return {
      map: { style: "white-bg", center: { lat: -7.5585, lon: 110.819 }, zoom: div.classList.contains("small") ? 11.3 : 11.9, layers: layers },
      margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: true, separators: HM.separators,
      legend: { x: 0, y: 1, bgcolor: "rgba(255,255,255,0.85)" }, uirevision: "keep"
    };
  }

  function showSite(id) {
    var panel = document.getElementById("site-panel");
    if (!panel) { window.location.href = "/sites/" + encodeURIComponent(id); return; }
    panel.replaceChildren(HM.el("p", { "class": "muted" }, HM.texts.loading));
    HM.getJSON("/api/v1/sites/" + encodeURIComponent(id)).then(function (s) {
      var rows = s.aps_list.map(function (a) {
        return HM.el("tr", {}, HM.el("td", {}, HM.el("a", { href: "/aps/" + encodeURIComponent(a.id) }, a.id)),
          HM.el("td", {}, HM.stateBadge(a.state)), HM.el("td", {}, HM.num(a.clients)));
      });
      panel.replaceChildren(
        HM.el("h3", {}, s.name), HM.el("p", {}, HM.stateBadge(s.state)),
        HM.el("table", { "class": "data", id: "panel-aps" },
          HM.el("thead", {}, HM.el("tr", {}, HM.el("th", {}, HM.texts.ap), HM.el("th", {}, HM.texts.state), HM.el("th", {}, HM.texts.clients))),
          HM.el("tbody", {}, ...rows)),
        HM.el("p", {}, HM.el("a", { href: "/sites/" + encodeURIComponent(s.id) }, HM.texts.open_site)));
    }).catch(function () { panel.replaceChildren(HM.el("p", { "class": "error" }, HM.texts.error)); });
  }

  function draw() {
    return Promise.all([HM.getJSON(div.dataset.src)]).then(function (r) {
      var d = r[0];
      return Promise.all([load(d.boundaries.kecamatan), load(d.boundaries.kelurahan)]).then(function (g) {
        var kec = g[0], kel = g[1];
        var p = drawn ? Plotly.react(div, traces(d, kec), layout(d, kec, kel))
                      : Plotly.newPlot(div, traces(d, kec), layout(d, kec, kel), { displaylogo: false, responsive: true, scrollZoom: true });
        return p.then(function () {
          if (!drawn) {
            div.on("plotly_click", function (ev) {
              var pt = ev.points && ev.points[0];
              if (pt && pt.customdata) showSite(pt.customdata);
            });
          }
          drawn = true;
          div.dataset.sites = String(d.sites.length);
          div.dataset.ready = "1";
        });
      });
    }).catch(function (e) { div.dataset.error = String(e); });
  }
  HM.refreshMap = draw;
  draw();
})();
