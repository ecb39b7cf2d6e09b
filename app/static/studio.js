// The studio's editor, enhanced: line numbers beside the text, a preview beside the editor that
// the server renders as the trainer types (the same renderer and sanitiser as publishing), and
// problem links that jump to their line in the text. Without JavaScript the editor is a plain
// form whose problems link to a numbered listing of the saved text.
(function () {
  "use strict";
  var form = document.querySelector("form.editor[data-render-url]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var text = form.querySelector("textarea");
  var token = form.querySelector('input[name="csrf_token"]').value;
  var assets = form.getAttribute("data-assets-url");
  var wrap = document.createElement("div");
  wrap.className = "live";
  var gutter = document.createElement("pre");
  gutter.className = "gutter";
  gutter.setAttribute("aria-hidden", "true");
  var pane = document.createElement("section");
  pane.className = "live-preview prose";
  pane.setAttribute("aria-label", "Live preview");
  pane.setAttribute("aria-live", "polite");
  var status = document.createElement("ul");
  status.className = "live-problems";
  status.setAttribute("aria-live", "polite");
  var field = text.parentNode;
  var holder = document.createElement("div");
  holder.className = "numbered";
  field.insertBefore(holder, text);
  holder.appendChild(gutter);
  holder.appendChild(text);
  field.parentNode.insertBefore(status, field.nextSibling);
  form.parentNode.insertBefore(wrap, form);
  wrap.appendChild(form);
  if (form.getAttribute("data-preview") === "yes") { wrap.appendChild(pane); }

  function numbers() {
    var count = text.value.split("\n").length;
    var out = [];
    for (var i = 1; i <= count; i += 1) { out.push(String(i)); }
    gutter.textContent = out.join("\n");
    gutter.scrollTop = text.scrollTop;
  }

  function jump(line) {
    var lines = text.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i += 1) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    text.focus();
    text.setSelectionRange(start, end);
    var height = text.scrollHeight / Math.max(lines.length, 1);
    text.scrollTop = Math.max(0, (line - 3) * height);
    numbers();
  }

  function link(item) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = "#L" + item.line;
    a.textContent = item.text;
    a.setAttribute("data-line", String(item.line));
    li.appendChild(a);
    return li;
  }

  function show(result) {
    pane.innerHTML = result.html;  // rendered and sanitised by the server
    Array.prototype.forEach.call(pane.querySelectorAll("img[src^='assets/']"), function (img) {
      img.src = assets + img.getAttribute("src").slice("assets/".length);
    });
    status.textContent = "";
    result.problems.concat(result.warnings).forEach(function (item) { status.appendChild(link(item)); });
  }

  var timer = null;
  function refresh() {
    var body = new FormData();
    body.append("text", text.value);
    fetch(form.getAttribute("data-render-url"), {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(show).catch(function () { /* the saved page still shows every problem */ });
  }

  text.addEventListener("input", function () {
    numbers();
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  });
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("a[href^='#L']") : null;
    if (!target) { return; }
    event.preventDefault();
    jump(parseInt(target.getAttribute("href").slice(2), 10));
  });
  numbers();
  refresh();
  if (/^#L\d+$/.test(window.location.hash)) { jump(parseInt(window.location.hash.slice(2), 10)); }
}());
