// Saves each test answer the moment it is chosen, so nothing is lost if the tab closes.
// Without JavaScript the "Save and next" button saves it instead.
document.addEventListener("DOMContentLoaded", function () {
  var test = document.querySelector("[data-autosave-url]");
  if (!test) { return; }
  var form = test.querySelector("form");
  var status = test.querySelector(".autosave-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var itemId = form.querySelector("input[name=item_id]").value;
  form.addEventListener("change", function (event) {
    if (event.target.name !== "answer") { return; }
    status.textContent = status.dataset.saving;
    fetch(test.dataset.autosaveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({item_id: itemId, value: event.target.value,
                            position: parseInt(test.dataset.position, 10)})
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (result) {
      status.textContent = result.ok ? status.dataset.saved : result.body.message;
      if (result.body && result.body.submitted && result.body.results_url) {
        window.location.assign(result.body.results_url);  // the time ran out: the saved answers were submitted
      }
    }).catch(function () {
      status.textContent = status.dataset.failed;
    });
  });
});

// The time left in a sitting. The server enforces the limit; this only counts down what the page
// was given, speaks at five and at one minute (a polite live region, not every second), and at zero
// asks the server for the page again, which submits the answers saved in time.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-deadline-seconds]");
  if (!box) { return; }
  var total = parseInt(box.dataset.deadlineSeconds, 10);
  var started = Date.now();
  var value = box.querySelector(".timer-value");
  var announce = box.querySelector(".timer-announce");
  var warned = {five: total <= 300, one: total <= 60};
  var timer = null;
  function text(seconds) {
    if (seconds >= 3600) {
      return box.dataset.formatHours.replace("{h}", String(Math.floor(seconds / 3600)))
        .replace("{m}", String(Math.floor((seconds % 3600) / 60)));
    }
    var rest = seconds % 60;
    return box.dataset.format.replace("{m}", String(Math.floor(seconds / 60)))
      .replace("{s}", (rest < 10 ? "0" : "") + rest);
  }
  function tick() {
    var left = Math.max(0, total - Math.floor((Date.now() - started) / 1000));
    value.textContent = text(left);
    if (left <= 300) { box.classList.add("low"); }
    if (left <= 300 && !warned.five) { warned.five = true; announce.textContent = box.dataset.warn5; }
    if (left <= 60 && !warned.one) { warned.one = true; announce.textContent = box.dataset.warn1; }
    if (left === 0) {
      clearInterval(timer);
      announce.textContent = box.dataset.over;
      window.setTimeout(function () { window.location.assign(box.dataset.expiredUrl); }, 2000);
    }
  }
  timer = setInterval(tick, 1000);
  tick();
});

// A table wider than the screen scrolls inside its box; without a hint, its last columns look
// missing. Each such table gets a visible note, in the page's language, and a focusable box so
// that it can be scrolled with the keyboard too.
document.addEventListener("DOMContentLoaded", function () {
  var hint = document.body.dataset.scrollHint;
  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      var note = box.previousElementSibling;
      var hasNote = note && note.classList.contains("scroll-hint");
      box.classList.toggle("scrolls", scrolls);
      if (scrolls) { box.setAttribute("tabindex", "0"); } else { box.removeAttribute("tabindex"); }
      if (scrolls && !hasNote && hint) {
        note = document.createElement("p");
        note.className = "scroll-hint";
        note.textContent = hint;
        box.parentNode.insertBefore(note, box);
      } else if (!scrolls && hasNote) {
        note.remove();
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
});
