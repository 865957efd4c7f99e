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
    }).catch(function () {
      status.textContent = status.dataset.failed;
    });
  });
});
