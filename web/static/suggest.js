// Store suggestions while a dispatcher types in a store search box: an
// <input data-suggest="/api/v1/objects/search" list="ID"> gets the stores
// the search endpoint finds as the options of its <datalist>. Choosing one
// puts the store's code in the box; the form's GET search does the rest, so
// the page works the same without this file.
"use strict";

(function () {
  var timer = null;
  var last = "";

  function fill(input, list, objects) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    objects.forEach(function (o) {
      var opt = document.createElement("option");
      opt.value = o.code;
      opt.label = o.client + " · " + (o.name ? o.name + " · " : "") + o.address;
      opt.textContent = opt.label;
      list.appendChild(opt);
    });
    input.setAttribute("data-suggested", String(objects.length));
  }

  function suggest(input) {
    var q = input.value.trim();
    var list = input.list;
    if (!list || q.length < 2 || q === last) {
      return;
    }
    last = q;
    var url = input.getAttribute("data-suggest") + "?limit=8&q=" + encodeURIComponent(q);
    var client = input.form && input.form.querySelector("select[name=client]");
    if (client && client.value) {
      url += "&client=" + encodeURIComponent(client.value);
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { objects: [] }; })
      .then(function (body) {
        if (input.value.trim() === q) {
          fill(input, list, body.objects || []);
        }
      })
      .catch(function () { /* suggestions are a convenience: the search form still works */ });
  }

  document.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches("input[data-suggest]")) {
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(function () { suggest(input); }, 200);
  });
})();
