// The reading clock of a module page: counts down the time left before the module can be
// marked as read (the page states it without JavaScript too), and moves focus to the error a
// too-early click left beside the button. No library, nothing sent anywhere.
(function () {
  "use strict";
  var error = document.getElementById("read-error");
  if (error) {
    // After the load: the browser's scroll to the form's #read-box comes first.
    window.addEventListener("load", function () {
      error.focus();
    });
  }
  var clock = document.getElementById("reading-clock");
  if (!clock) {
    return;
  }
  var text = clock.querySelector(".reading-clock-text");
  var announce = clock.querySelector(".reading-clock-done");
  var endsAt = Date.now() + Number(clock.getAttribute("data-remaining")) * 1000;

  function wait(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes ? minutes + " min " + rest + " s" : rest + " s";
  }

  function tick() {
    var left = Math.ceil((endsAt - Date.now()) / 1000);
    if (left <= 0) {
      text.textContent = "";
      // A live region: screen readers hear the end, not every second before it.
      announce.textContent = "You can mark this module as read now.";
      return;
    }
    text.textContent = "You can mark it as read in " + wait(left) + ".";
    window.setTimeout(tick, 1000);
  }
  tick();
})();
