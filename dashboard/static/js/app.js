/* Shared helpers: texts in the page's language, number/time formatting, JSON fetch.
   No inline scripts anywhere (the CSP forbids them): pages pass data in data-* attributes
   and in the <script type="application/json" id="i18n"> block. */
(function () {
  "use strict";
  var HM = (window.HM = {});
  HM.texts = JSON.parse(document.getElementById("i18n").textContent);
  HM.locale = document.body.dataset.locale || "en";
  HM.tz = document.body.dataset.tz || "UTC";
  var intlLocale = HM.locale === "id" ? "id-ID" : "en-GB";
  HM.separators = HM.locale === "id" ? ",." : ".,";

  HM.num = function (v, d) {
    if (v === null || v === undefined) return "–";
    d = d || 0;
    return new Intl.NumberFormat(intlLocale, { minimumFractionDigits: d, maximumFractionDigits: d }).format(v);
  };
  HM.pct = function (v, d) { return v === null || v === undefined ? "–" : HM.num(v, d === undefined ? 3 : d) + " %"; };
  HM.bytes = function (v) {
    if (v === null || v === undefined) return "–";
    var units = ["B", "KB", "MB", "GB", "TB", "PB"], i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return HM.num(v, i === 0 ? 0 : 1) + " " + units[i];
  };
  HM.time = function (iso, withDate) {
    if (!iso) return "–";
    var opts = { timeZone: HM.tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    if (withDate !== false) { opts.year = "numeric"; opts.month = "2-digit"; opts.day = "2-digit"; }
    return new Intl.DateTimeFormat(intlLocale, opts).format(new Date(iso));
  };
  HM.duration = function (s) {
    s = Math.round(s || 0);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d) return d + "d " + h + "h " + m + "m";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + sec + "s";
    return sec + "s";
  };
  HM.getJSON = function (url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (r.status === 401) {
        window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
        throw new Error("logged out");
      }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  };
  /* Build DOM without innerHTML: el("a", {href: "/x"}, "text", child...) */
  HM.el = function (tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return e;
  };
  HM.stateBadge = function (state) {
    var sym = { up: "✔", degraded: "◐", down: "✖", unknown: "?", closed: "☾" }[state] || "?";
    return HM.el("span", { "class": "state state-" + state, "data-state": state },
      HM.el("span", { "class": "sym", "aria-hidden": "true" }, sym), " " + (HM.texts.states[state] || state));
  };
  HM.setStale = function (stale, problems) {
    var b = document.getElementById("stale");
    if (!b) return;
    b.hidden = !stale;
    var t = document.getElementById("stale-text");
    if (t) t.textContent = (problems || []).map(function (p) { return HM.texts.problems[p] || p; }).join(" ");
  };
  var nav = document.querySelector("[data-nav='" + (document.body.dataset.page || "") + "']");
  if (nav) nav.classList.add("current");
})();
