// Intake's pages work without script; this file only adds conveniences.
// Each helper looks for its own data- attributes and does nothing when a
// page has none.
"use strict";

// data-confirm="question" on a form's button asks before submitting.
document.addEventListener("click", function (ev) {
  var el = ev.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    ev.preventDefault();
  }
});
