/* Psychometric test XBlock, student view: one item at a time; every choice is saved as it is made.
 *
 * Requests go through one queue so that they reach the server in the order they were made:
 * a submit never overtakes a pending answer. jQuery is what both the LMS and the workbench
 * provide, and their $.ajax set-up adds the CSRF header.
 */
function PsychometricTestXBlock(runtime, element, init) {
    "use strict";
    var $root = $(element).find(".pt-block");
    var $quiz = $root.find(".pt-quiz");
    if (!$quiz.length) {
        return {};  // submitted (results shown) or the instrument is unavailable: nothing to drive
    }
    var ui = init.messages;
    var items = $quiz.find(".pt-item").toArray();
    var total = items.length;
    var position = Math.max(0, Math.min(init.position || 0, total - 1));
    var saved = {};  // item id -> the option key the server holds
    var queue = [];
    var busy = false;

    items.forEach(function (item) {
        var checked = $(item).find("input[type=radio]:checked");
        if (checked.length) {
            saved[item.getAttribute("data-item")] = checked.val();
        }
    });

    // Fill a message's %(name)s placeholders (Python's format, as in the block's catalogue).
    function format(template, params) {
        return template.replace(/%\((\w+)\)s|%%/g, function (match, key) {
            if (match === "%%") {
                return "%";
            }
            return Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : match;
        });
    }

    function errorText(xhr) {
        var body = xhr && xhr.responseJSON;
        return body && typeof body.error === "string" ? body.error : ui.network_error;
    }

    function pump() {
        if (busy || !queue.length) {
            return;
        }
        busy = true;
        var job = queue.shift();
        $.ajax({
            type: "POST",
            url: runtime.handlerUrl(element, job.handler),
            data: JSON.stringify(job.data),
            contentType: "application/json; charset=utf-8",
            dataType: "json"
        }).done(job.done || $.noop).fail(function (xhr) {
            $quiz.find(".pt-error").text(errorText(xhr));
            if (job.fail) {
                job.fail(xhr);
            }
        }).always(function () {
            busy = false;
            pump();
        });
    }

    function post(handler, data, done, fail) {
        queue.push({handler: handler, data: data, done: done, fail: fail});
        pump();
    }

    function status(text) {
        $quiz.find(".pt-status").text(text);
        $quiz.find(".pt-error").text("");
    }

    function updateProgress() {
        var answered = Object.keys(saved).length;
        $quiz.find(".pt-progress-bar").attr("value", answered);
        $quiz.find(".pt-progress-label").text(format(ui.answered_of, {answered: answered, total: total}));
    }

    function showItem(index, focus) {
        position = index;
        items.forEach(function (item, i) { item.hidden = i !== index; });
        $quiz.find(".pt-review").prop("hidden", true);
        $quiz.find(".pt-nav").prop("hidden", false);
        $quiz.find(".pt-previous").prop("disabled", index === 0);
        $quiz.find(".pt-next").prop("hidden", index === total - 1);
        $quiz.find(".pt-to-review").prop("hidden", index !== total - 1);
        if (focus) {
            items[index].focus();
        }
    }

    function goTo(index) {
        index = Math.max(0, Math.min(index, total - 1));
        status("");
        showItem(index, true);
        post("move", {position: index});
    }

    function showReview() {
        var $list = $quiz.find(".pt-unanswered").empty();
        var missing = [];
        items.forEach(function (item, i) {
            if (!Object.prototype.hasOwnProperty.call(saved, item.getAttribute("data-item"))) {
                missing.push(i);
            }
        });
        $quiz.find(".pt-review-summary").text(
            format(ui.answered_of, {answered: total - missing.length, total: total}) + ". " +
            (missing.length ? ui.unanswered : ui.all_answered));
        missing.forEach(function (i) {
            $("<button type='button' class='pt-button'></button>")
                .text(String(i + 1))
                .attr("aria-label", format(ui.question_of, {number: i + 1, total: total}))
                .on("click", function () { goTo(i); })
                .appendTo($("<li></li>").appendTo($list));
        });
        items.forEach(function (item) { item.hidden = true; });
        $quiz.find(".pt-nav").prop("hidden", true);
        $quiz.find(".pt-review").prop("hidden", false).trigger("focus");
    }

    $quiz.on("change", ".pt-item input[type=radio]", function () {
        var item = $(this).closest(".pt-item")[0];
        var itemId = item.getAttribute("data-item");
        status("");
        post("save_answer", {item: itemId, value: this.value}, function (response) {
            saved[itemId] = response.value;
            updateProgress();
            status(ui.saved);
        }, function () {
            // Show what the server holds, not what it refused.
            $(item).find("input[type=radio]").each(function () {
                this.checked = saved[itemId] === this.value;
            });
        });
    });
    $quiz.on("click", ".pt-previous", function () { goTo(position - 1); });
    $quiz.on("click", ".pt-next", function () { goTo(position + 1); });
    $quiz.on("click", ".pt-to-review", showReview);
    $quiz.on("click", ".pt-back", function () { showItem(position, true); });
    $quiz.on("click", ".pt-submit", function () {
        var $button = $(this).prop("disabled", true);
        status(ui.submitting);
        post("submit", {}, function (response) {
            var $results = $("<div></div>").html(response.results_html).children().first();
            $quiz.replaceWith($results);
            $results.trigger("focus");
        }, function () {
            $button.prop("disabled", false);
        });
    });

    showItem(position, false);
    return {};
}
