// The customer 360's Calls list, live: a call with this customer that the page's
// socket reports (panel.js: DOM event "cc:call", an inbound call from its answer,
// a click-to-call from its first step) gets its row at once, or its row
// (server-rendered: tr[data-call-id]) follows it: state, then at its end the
// outcome, the talk time and "awaiting disposition". The same cells as the
// server renders (callcenter/customers/templates/customer/profile.html), so a
// reload shows the same list. No framework; no inline script (CSP).
(function () {
  "use strict";
  var page = document.getElementById("customer-page");
  var rows = document.getElementById("call-rows");
  if (!page || !rows) { return; }
  var section = document.getElementById("call-history");
  var table = rows.closest(".table-wrap");
  var empty = document.getElementById("no-calls");
  var STATES = ["queued", "agent_ringing", "customer_ringing", "connected", "ended"];
  var zone = document.body.getAttribute("data-timezone") || undefined;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function cell(label, content) {
    var td = el("td");
    td.setAttribute("data-label", label);
    if (typeof content === "string") { td.textContent = content; } else { td.appendChild(content); }
    return td;
  }
  // "06 Dec 2026, 18:30" in the call center's zone, as the server's |localtime writes it
  function when(iso) {
    if (!iso) { return ""; }
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "2-digit", month: "short", year: "numeric",
                                         hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        .formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    } catch (e) {
      return new Date(iso).toLocaleString();
    }
    return parts.day + " " + parts.month + " " + parts.year + ", " + parts.hour + ":" + parts.minute;
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    seconds = Math.round(seconds);
    return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }
  function result(call) { return String(call.end_reason || call.state || "").replace(/_/g, " "); }

  function disposition(call) {
    var box = el("div");
    if (call.work_item_id !== null && call.work_item_id !== undefined && call.state === "ended") {
      box.appendChild(el("span", "badge owed", "awaiting disposition"));
    } else {
      box.textContent = "–";
    }
    return box;
  }

  function newRow(call) {
    var tr = el("tr");
    tr.setAttribute("data-call-id", call.id);
    var first = el("div", null, when(call.requested_at || call.connected_at));
    var meta = el("div", "muted small");
    meta.appendChild(el("span", "direction", call.direction || "outbound"));
    if (call.work_item_id !== null && call.work_item_id !== undefined &&
        String(call.work_item_id) === page.dataset.item && page.dataset.itemCampaign) {
      meta.appendChild(document.createTextNode(" · " + page.dataset.itemCampaign));
    }
    first.appendChild(meta);
    tr.appendChild(cell("When", first));
    var mine = call.agent_id !== null && call.agent_id !== undefined &&
      String(call.agent_id) === document.body.getAttribute("data-user-id");
    tr.appendChild(cell("By", (mine && section && section.dataset.me) || call.agent || ""));
    tr.appendChild(cell("Result", ""));
    tr.appendChild(cell("Talk", ""));
    tr.appendChild(cell("Disposition", ""));
    tr.appendChild(cell("Recording", "–"));
    rows.insertBefore(tr, rows.firstChild);  // the newest first, as the server lists them
    if (table) { table.hidden = false; }
    if (empty) { empty.hidden = true; }
    return tr;
  }

  function follow(call, tr) {
    var known = STATES.indexOf(tr.getAttribute("data-state"));
    if (known >= 0 && known > STATES.indexOf(call.state)) { return; }  // a late step
    tr.setAttribute("data-state", call.state);
    var cells = tr.children;
    cells[2].textContent = result(call);
    cells[3].textContent = duration(call.talk_seconds);
    if (!tr.hasAttribute("data-disposed")) {
      cells[4].textContent = "";
      cells[4].appendChild(disposition(call));
    }
  }

  document.addEventListener("cc:call", function (event) {
    var call = (event.detail || {}).call;
    if (!call || !call.id) { return; }
    // a listed call is followed even if its message does not name the customer (a caller
    // saved as a customer during the talk); a new row only for this customer's call
    var tr = rows.querySelector('tr[data-call-id="' + CSS.escape(call.id) + '"]');
    if (!tr) {
      if (call.customer_id === null || call.customer_id === undefined ||
          String(call.customer_id) !== page.dataset.customer) { return; }
      tr = newRow(call);
    }
    follow(call, tr);
  });
})();
