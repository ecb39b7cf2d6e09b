// Assessment pages: every answer is saved when the learner moves to another page (that works
// without JavaScript). This saves a page in the background as soon as an answer changes too,
// so a closed tab, a crash or a session that ends mid-page loses nothing. No library.
// Saves go one at a time, and moving on waits for the one under way: on the embedded SQLite
// database two writes at once would get in each other's way.
(function () {
  "use strict";
  var form = document.getElementById("page-form");
  if (!form || !window.fetch || !window.FormData || !window.Promise) {
    return;
  }
  var timer = null;
  var inflight = Promise.resolve();
  var saving = 0; // saves queued or under way
  var leaving = false;

  function save() {
    timer = null;
    var data = new FormData(form);
    data.set("go", "stay");
    saving += 1;
    inflight = inflight
      .then(function () {
        return window.fetch(form.action, {
          method: "POST",
          body: data,
          credentials: "same-origin",
        });
      })
      .catch(function () {
        // Offline for a moment: the page is saved again when the learner moves on.
      })
      .then(function () {
        saving -= 1;
      });
  }

  form.addEventListener("change", function () {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(save, 300);
  });

  form.addEventListener("submit", function (event) {
    if (timer !== null) {
      window.clearTimeout(timer); // moving on saves the page anyway
      timer = null;
    }
    if (!saving || leaving) {
      return;
    }
    event.preventDefault();
    var button = event.submitter;
    inflight.then(function () {
      leaving = true;
      if (form.requestSubmit) {
        form.requestSubmit(button || undefined);
      } else {
        form.submit();
      }
    });
  });
})();
