// The notifications page (/admin/notifications): as an admin types a
// template, ask the preview endpoint (debounced) for its check and show the
// characters, encoding, segments and DLT fixed text of an SMS, the text
// filled with example values, or why it would be refused. Saving is a plain
// form post: the page works without this script.
(function () {
  "use strict";
  var WAIT_MS = 300;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function setText(form, selector, text) {
    var node = form.querySelector(selector);
    if (node) node.textContent = text;
  }

  function show(form, check) {
    var errors = form.querySelector("[data-preview-errors]");
    var filled = form.querySelector("[data-preview-text]");
    if (!check.ok) {
      errors.textContent = "Would be refused: " + check.errors.join("; ");
      errors.hidden = false;
      filled.hidden = true;
      return;
    }
    errors.hidden = true;
    var warnings = form.querySelector("[data-warnings]");
    warnings.textContent = (check.warnings || []).join("; ");
    warnings.hidden = !warnings.textContent;
    filled.textContent = "Example: " + (check.subject ? check.subject + " — " : "") + check.body;
    filled.hidden = false;
    if (form.dataset.channel === "sms") {
      setText(form, "[data-characters]", String(check.characters));
      setText(form, "[data-encoding]", check.encoding);
      setText(form, "[data-segments]", String(check.segments));
      setText(form, "[data-dlt]", check.dlt_text);
    }
  }

  function preview(form) {
    var subject = form.querySelector('[name="subject"]');
    var body = form.querySelector('[name="body"]');
    fetch(form.dataset.preview, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
      body: JSON.stringify({subject: subject ? subject.value : "", body: body.value})
    }).then(function (resp) {
      return resp.ok ? resp.json() : null;
    }).then(function (check) {
      if (check) show(form, check);
    }).catch(function () { /* offline: the check still runs when the form is saved */ });
  }

  document.querySelectorAll("form[data-template]").forEach(function (form) {
    var timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { preview(form); }, WAIT_MS);
    });
  });
})();
