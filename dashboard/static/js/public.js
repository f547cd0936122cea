// Filter the list of places as one types (the search also works without JavaScript).
(function () {
  var q = document.getElementById('q');
  if (!q) return;
  var none = document.getElementById('no-match');
  q.addEventListener('input', function () {
    var t = q.value.trim().toLowerCase(), any = false;
    document.querySelectorAll('.kec-group').forEach(function (g) {
      var shown = 0;
      g.querySelectorAll('.place').forEach(function (li) {
        var ok = !t || li.getAttribute('data-name').indexOf(t) >= 0;
        li.hidden = !ok;
        if (ok) shown++;
      });
      g.hidden = shown === 0;
      if (shown) any = true;
    });
    if (none) none.hidden = any;
  });
})();
