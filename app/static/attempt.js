// Assessment pages: every answer is saved when the learner moves to another page (that works
// without JavaScript). This saves a page in the background as soon as an answer changes too,
// so a closed tab, a crash or a session that ends mid-page loses nothing. No library.
(function () {
  "use strict";
  var form = document.getElementById("page-form");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var pending = null;

  function save() {
    pending = null;
    var data = new FormData(form);
    data.set("go", "stay");
    window.fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .catch(function () {
        // Offline for a moment: the page is saved again when the learner moves on.
      });
  }

  form.addEventListener("change", function () {
    if (pending !== null) {
      window.clearTimeout(pending);
    }
    pending = window.setTimeout(save, 300);
  });
})();
