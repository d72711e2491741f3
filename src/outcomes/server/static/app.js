// Live pages: a server-sent event says the figures changed; htmx fetches the fragment again. Copy buttons.
(function () {
  "use strict";
  function connect(el) {
    var source = new EventSource(el.getAttribute("data-stream"));
    var last = null;
    source.addEventListener("scorecard", function (event) {
      var batch = JSON.parse(event.data).as_of_batch;
      var shown = document.getElementById("live-batch");
      if (last !== null || (shown && String(batch) !== shown.textContent)) {
        htmx.trigger(el, "live-update");
      }
      last = batch;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-stream]").forEach(connect);
    document.querySelectorAll("button.copy").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = document.getElementById(button.getAttribute("data-copy")).textContent;
        navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
      });
    });
  });
})();
