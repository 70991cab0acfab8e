/* The buckets page: bucket counts and reminders kept fresh from the page's
   live socket (no polling). web/static/panel.js owns the socket and hands
   each message to the page as a "cc:message" DOM event on document, with
   the message as event.detail. On "bucket_counts", "reminder" and "hello"
   (a reconnect) the counts are fetched once from the JSON API.
   Also: the "select all" checkbox of the reassignment page. */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || !box.matches || !box.matches("input[data-select-all]")) return;
    var name = box.getAttribute("data-select-all");
    var form = box.form || document;
    form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (b) {
      b.checked = box.checked;
    });
  });

  var root = document.getElementById("work");
  if (!root) return;
  var pending = null;

  function refreshCounts() {
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {
      pending = null;
      var query = new URLSearchParams();
      if (root.dataset.campaign) query.set("campaign", root.dataset.campaign);
      if (root.dataset.agent) query.set("agent", root.dataset.agent);
      fetch("/api/v1/buckets?" + query.toString(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (resp) { return resp.ok ? resp.json() : null; })
        .then(function (body) { if (body && body.buckets) showCounts(body.buckets); })
        .catch(function () { /* offline: the next message retries */ });
    }, 250);
  }

  function showCounts(counts) {
    Object.keys(counts).forEach(function (bucket) {
      var el = root.querySelector('[data-count="' + bucket + '"]');
      if (!el) return;
      var text = String(counts[bucket]);
      if (el.textContent !== text) {
        el.textContent = text;
        el.classList.add("changed");
      }
      var tab = el.closest(".tab");
      if (tab && bucket === "pending_followup") tab.classList.toggle("has-missed", counts[bucket] > 0);
    });
    var now = counts[root.dataset.bucket];
    if (now !== undefined && String(now) !== root.dataset.countNow) {
      var stale = document.getElementById("stale");
      if (stale) stale.hidden = false;
    }
  }

  function addReminders(items) {
    if (root.dataset.agent) return; // a lead looking at an agent: the reminders are the lead's own
    var strip = document.getElementById("reminders");
    var list = document.getElementById("reminder-list");
    if (!strip || !list) return;
    items.forEach(function (item) {
      var old = list.querySelector('[data-item="' + item.item_id + '"]');
      if (old) old.remove();
      var li = document.createElement("li");
      li.className = "reminder is-new " + (item.kind === "missed" ? "is-missed" : "is-soon");
      li.setAttribute("data-item", String(item.item_id));
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.text;
      li.appendChild(a);
      list.insertBefore(li, list.firstChild);
    });
    if (items.length) strip.hidden = false;
  }

  function onMessage(message) {
    if (!message || typeof message !== "object") return;
    if (message.type === "reminder") {
      addReminders(Array.isArray(message.items) ? message.items : []);
      refreshCounts();
    } else if (message.type === "bucket_counts" || message.type === "hello") {
      refreshCounts();
    }
  }

  document.addEventListener("cc:message", function (event) { onMessage(event.detail); });
})();
