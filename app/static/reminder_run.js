// Follows a reminder run on its page: fetches the page again every two seconds while the run
// is queued or running, updates its state and counts in place, and reloads the page once the
// run is over, so the server draws the people it reminded. Without JavaScript the page
// reloads itself instead (a <noscript> meta refresh), so this is an enhancement only.
(function () {
  "use strict";
  var state = document.getElementById("run-state");
  if (!state || !window.fetch || !window.DOMParser || !state.hasAttribute("data-under-way")) {
    return;
  }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.getElementById("run-state");
        if (!next || !next.hasAttribute("data-under-way")) {
          window.location.replace(window.location.href);
          return;
        }
        ["run-state", "run-counts"].forEach(function (id) {
          var now = fresh.getElementById(id);
          var shown = document.getElementById(id);
          if (now && shown && now.textContent !== shown.textContent) {
            shown.textContent = now.textContent;
          }
        });
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
