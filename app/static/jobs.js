// Follows a background job on its page: polls the job's JSON while it runs and updates the
// figures in place; reloads the page once the job has finished, so the server draws the
// download button (or the error). Without JavaScript the page reloads itself instead
// (a <noscript> meta refresh), so this is an enhancement only.
(function () {
  "use strict";
  var card = document.querySelector("[data-job-url]");
  if (!card || !window.fetch) { return; }
  var url = card.getAttribute("data-job-url");
  var field = function (name) { return card.querySelector('[data-job-field="' + name + '"]'); };
  var number = function (n) { return n === null ? "unknown" : n.toLocaleString("en"); };

  function show(job) {
    field("state").textContent = job.state;
    field("done").textContent = number(job.done);
    field("total").textContent = number(job.total);
    var bar = field("bar");
    if (job.total) {
      bar.max = job.total;
      bar.value = Math.min(job.done, job.total);
    }
    bar.textContent = String(job.done);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.state === "queued" || job.state === "running") {
          window.setTimeout(poll, 1000);
        } else {
          window.location.replace(job.page);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 500);
}());
