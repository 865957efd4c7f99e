// A job's page: poll its JSON status, move the progress bar, and reload once it has finished
// (the server then renders the result or the problems in the page's language).
(function () {
  "use strict";
  var card = document.getElementById("job");
  if (!card || card.dataset.finished === "yes") { return; }
  var url = card.dataset.statusUrl;
  var bar = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var label = document.getElementById("job-status");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (job) {
        bar.max = job.total || 1;
        bar.value = job.done;
        count.textContent = job.done + " / " + job.total;
        label.textContent = job.status_label;
        if (job.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });  // busy or offline: try again
  }
  window.setTimeout(poll, 500);
})();
