/* Silence form: show the fields of the chosen schedule (one-off or weekly) only.
   Without JavaScript both sets show and the radio button decides. */
(function () {
  "use strict";
  var form = document.getElementById("silence-form");
  if (!form) return;
  function show() {
    var checked = form.querySelector("input[name='schedule']:checked");
    var which = checked ? checked.value : "once";
    form.querySelectorAll("[data-schedule]").forEach(function (e) { e.hidden = e.dataset.schedule !== which; });
  }
  form.querySelectorAll("input[name='schedule']").forEach(function (r) { r.addEventListener("change", show); });
  show();
})();
