// The customer page: the call button (POST to the work item's call route
// with the CSRF token) and the disposition form, which shows the questions on
// the path the answers take and opens when the live panel (panel.js) reports
// that this item's call ended (DOM event "cc:call-ended"). "Record a
// disposition without a call" goes away once a call of mine is live (the
// server refuses such a note while this item's call is live). The call button
// is held while a call of mine is live, whichever way it came (an inbound call
// popped this page, a call placed here or in another tab).
(function () {
  "use strict";
  var page = document.getElementById("customer-page");
  if (!page) { return; }
  var itemId = page.dataset.item;
  var form = document.getElementById("disposition-form");
  var section = document.getElementById("disposition");
  var callButton = document.getElementById("call-button");
  var status = document.getElementById("call-status");
  var placedCall = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function say(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }

  // -- branches: the same walk as the server (callcenter/dispositions/answers.py)
  function visibleKeys() {
    var pending = (form.dataset.start || "").split(" ").filter(Boolean);
    var seen = {};
    while (pending.length) {
      var key = pending.shift();
      if (seen[key]) { continue; }
      seen[key] = true;
      var box = form.querySelector('fieldset[data-q="' + key + '"]');
      if (!box) { continue; }
      var chosen = box.querySelector("input[data-next]:checked");
      if (chosen && chosen.dataset.next) {
        pending = chosen.dataset.next.split(" ").filter(Boolean).concat(pending);
      }
    }
    return seen;
  }

  function showPath() {
    var seen = visibleKeys();
    form.querySelectorAll("fieldset[data-q]").forEach(function (box) {
      var on = !!seen[box.dataset.q];
      box.hidden = !on;
      box.disabled = !on;  // a hidden question's answer is not sent
    });
  }

  // No note without a call from now on (a call is live; its disposition comes first).
  function noCallLess() {
    var box = document.getElementById("disposition-open-box");
    if (box) { box.remove(); }
    var callField = document.getElementById("disposition-call");
    if (section && !section.hidden && callField && !callField.value) { section.hidden = true; }
  }

  // The call just placed is one more attempt (the server counted it with the call).
  function countAttempt() {
    var el = document.getElementById("item-attempts");
    if (!el) { return; }
    var n = (Number(el.dataset.attempts) || 0) + 1;
    el.dataset.attempts = String(n);
    el.textContent = n + (n === 1 ? " call placed" : " calls placed");
  }

  function openForm(callId) {
    if (!section) { return; }
    if (callId) { document.getElementById("disposition-call").value = callId; }
    section.hidden = false;
    var box = document.getElementById("disposition-open-box");
    if (box) { box.remove(); }
    if (callId) {  // a call's disposition holds the next call; a note without a call does not
      if (callButton) { callButton.disabled = true; }
      say("The call has ended: submit the disposition before your next call.");
    }
    var first = form.querySelector("fieldset:not([hidden]) input, fieldset:not([hidden]) select");
    section.scrollIntoView({behavior: "smooth", block: "start"});
    if (first) { first.focus({preventScroll: true}); }
  }

  if (form) {
    form.addEventListener("change", function (event) {
      if (event.target.matches("input[data-next]")) { showPath(); }
    });
    showPath();
  }
  var opener = document.getElementById("disposition-open");
  if (opener) { opener.addEventListener("click", function () { openForm(null); }); }

  // -- the call button
  var MESSAGES = {
    disposition_required: "Submit the disposition of your last call before the next one.",
    number_dnd: "This number is on the do-not-disturb list and may not be called.",
    campaign_not_callable: null,
    agent_busy: "You already have a call in progress.",
    trunk_full: "All lines are busy right now; try again in a few seconds.",
    agent_has_no_phone: "Your login has no phone set up; ask your team lead.",
    pbx_unavailable: "The phone system is not reachable right now; try again shortly."
  };

  if (callButton) {
    callButton.addEventListener("click", function () {
      callButton.disabled = true;
      say("Placing the call…");
      fetch(callButton.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
        body: "{}"
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return {ok: response.ok, status: response.status, body: body};
        });
      }).then(function (result) {
        if (result.ok) {
          placedCall = result.body.id;
          noCallLess();
          countAttempt();
          // the socket may have told this call's first steps before this reply came
          var known = lastState[placedCall];
          say(STEPS[known] || (known === "ended" ? "The call has ended." : "Calling: your phone rings first."));
          return;
        }
        var body = result.body || {};
        var text = MESSAGES[body.error] || body.message || ("The call could not be placed (" + result.status + ").");
        say(text, true);
        if (body.error === "disposition_required" && String(body.work_item_id) === itemId && body.call_state === "ended") {
          openForm(body.call_id);
        } else if (body.error === "disposition_required" || body.error === "number_dnd" || body.error === "campaign_not_callable") {
          callButton.disabled = true;
        } else {
          callButton.disabled = false;
        }
      }).catch(function () {
        say("The server could not be reached; check your connection and try again.", true);
        callButton.disabled = false;
      });
    });
  }

  // -- the live panel's events
  function callOf(event) {
    var detail = event.detail || {};
    return detail.call || detail;
  }
  function onEnded(event) {
    var call = callOf(event);
    if (!call) { return; }
    var mine = (placedCall && call.id === placedCall) ||
      (call.work_item_id !== undefined && call.work_item_id !== null && String(call.work_item_id) === itemId);
    if (mine) { openForm(call.id); }
  }
  var STEPS = {
    customer_ringing: "Ringing the customer…",
    connected: "Connected: the form opens when the call ends."
  };
  var lastState = {};
  // One call at a time: while a call of mine is live (placed here or elsewhere, or an
  // inbound call) the button is held; a call elsewhere ended, it is given back (the
  // server then says whether a disposition comes first); this item's call ended, the form holds it.
  var liveCalls = {}, held = false;
  function hold(callId) {
    liveCalls[callId] = true;
    if (callButton && !callButton.disabled) { callButton.disabled = true; held = true; }
  }
  function release(callId, here) {
    delete liveCalls[callId];
    if (here) { held = false; return; }
    if (held && Object.keys(liveCalls).length === 0) { held = false; callButton.disabled = false; }
  }
  function onCall(event) {
    var call = callOf(event);
    if (!call) { return; }
    if (call.id) { lastState[call.id] = call.state; }
    var mine = !!(event.detail || {}).mine;
    var here = (placedCall && call.id === placedCall) ||
      (mine && call.work_item_id !== undefined && call.work_item_id !== null && String(call.work_item_id) === itemId);
    if (mine && call.state !== "ended") {
      noCallLess();
      hold(call.id);
    } else if (mine) {
      release(call.id, here);
    }
    if (!here) { return; }
    if (callButton) { callButton.disabled = true; }
    if (STEPS[call.state]) { say(STEPS[call.state]); }
  }
  var handled = {};
  function once(handler) {
    return function (event) {
      var call = callOf(event) || {};
      var key = event.type + ":" + call.id + ":" + call.state;
      if (handled[key]) { return; }
      handled[key] = true;
      handler(event);
    };
  }
  [window, document].forEach(function (target) {
    target.addEventListener("cc:call-ended", once(onEnded));
    target.addEventListener("cc:call", once(onCall));
  });

  if (page.dataset.owedCall) { openForm(page.dataset.owedCall); }
})();
