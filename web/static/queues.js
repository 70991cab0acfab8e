/* Queues, live: the supervisors' board (/queues, #queue-board) and the
 * agent's queue bar (#queue-bar in base.html): log in to the offered queues,
 * pause with a reason, resume, log out. Both follow the page's WebSocket
 * (panel.js) through `cc:message` events of type "queue":
 *   {type: "queue", queue: {name, waiting, longest_wait, callers, members: [{name, state, reason, mobile}],
 *                           agents: {state: count}, logged_in, today: {...}, service_level_seconds}}
 * The bar also follows panel.js's `cc:call`: while my inbound call is connected it
 * says "On a call" with the call panel. /api/v1/queues/me's reply never undoes a
 * queue message that came while it was under way.
 * No framework; no inline script (the pages' CSP forbids it). */
(function () {
  "use strict";

  var board = document.getElementById("queue-board");
  var bar = document.getElementById("queue-bar");
  var me = document.body.getAttribute("data-user");
  var STATE_TEXT = { available: "Available", ringing: "Ringing", in_call: "On a call", wrapup: "Wrap-up",
                     busy: "On another call", paused: "Paused", unavailable: "Phone unreachable" };
  var REASON_TEXT = { "break": "Break", lunch: "Lunch", training: "Training", meeting: "Meeting",
                      coaching: "Coaching", system: "System" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
                        body: JSON.stringify(body || {}) });
  }

  // -- the board ------------------------------------------------------------------
  var labels = {}, strategies = {};
  if (board) {
    try { labels = JSON.parse(board.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    try { strategies = JSON.parse(board.getAttribute("data-strategies") || "{}"); } catch (e) { strategies = {}; }
  }

  function tile(key, value, label, seconds) {
    var t = el("div", "tile");
    var num = el("span", "num", value);
    num.setAttribute("data-k", key);
    if (seconds !== undefined) num.setAttribute("data-seconds", seconds);
    t.appendChild(num);
    t.appendChild(el("span", "lbl", label));
    return t;
  }

  function card(v) {
    var section = el("section", "card queue-card");
    section.setAttribute("data-queue", v.name);
    var h = el("h2", null, v.name + " ");
    if (labels[strategies[v.name]]) h.appendChild(el("span", "badge", labels[strategies[v.name]]));
    section.appendChild(h);
    var tiles = el("div", "queue-tiles");
    var t = tile("waiting", v.waiting, "waiting");
    if (v.waiting) t.classList.add("alert-tile");
    tiles.appendChild(t);
    tiles.appendChild(tile("longest_wait", clock(v.longest_wait), "longest wait", v.longest_wait));
    tiles.appendChild(tile("available", v.agents.available, "free of " + v.logged_in));
    tiles.appendChild(tile("answered", v.today.answered, "answered today"));
    var avg = v.today.abandon_average_wait;
    tiles.appendChild(tile("abandoned", v.today.abandoned,
                           "abandoned" + (avg !== null && avg !== undefined ? " (avg " + Math.round(avg) + " s)" : "")));
    var sl = v.today.service_level;
    tiles.appendChild(tile("service_level", sl === null || sl === undefined ? "–" : Math.round(sl * 100) + "%",
                           "within " + v.service_level_seconds + " s"));
    section.appendChild(tiles);
    var list = el("ul", "queue-members");
    (v.members || []).forEach(function (m) {
      var li = el("li");
      li.setAttribute("data-state", m.state);
      li.appendChild(el("span", "who", m.name));
      li.appendChild(document.createTextNode(" "));
      var text = (STATE_TEXT[m.state] || m.state).toLowerCase() + (m.reason ? ": " + m.reason : "");
      li.appendChild(el("span", "state", text));
      if (m.mobile) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "badge", "mobile")); }
      list.appendChild(li);
    });
    if (!(v.members || []).length) list.appendChild(el("li", "muted", "Nobody is logged in: callers are offered a call-back."));
    section.appendChild(list);
    return section;
  }

  function onBoard(v) {
    if (!board) return;
    var old = board.querySelector('[data-queue="' + CSS.escape(v.name) + '"]');
    if (!old) return;  // a queue this page does not show
    board.replaceChild(card(v), old);
  }

  // the longest wait keeps counting between messages
  if (board) {
    setInterval(function () {
      board.querySelectorAll('[data-k="longest_wait"]').forEach(function (num) {
        var card = num.closest(".queue-card");
        var waiting = card && card.querySelector('[data-k="waiting"]');
        if (!waiting || waiting.textContent === "0") return;
        var s = Number(num.getAttribute("data-seconds") || 0) + 1;
        num.setAttribute("data-seconds", s);
        num.textContent = clock(s);
      });
    }, 1000);
  }

  // -- the agent's queue bar --------------------------------------------------------
  var mine = null, busy = false, problem = "";
  var reason = "";           // the pause reason picked: kept when a live update draws the bar again
  var latest = {}, seq = 0;  // queue name -> {seq, view}: the last message of each queue, numbered
  var inboundCall = null;    // my inbound call while it is connected (cc:call from panel.js)

  function act(path, body) {
    if (busy) return;
    busy = true;
    problem = "";
    renderBar();
    post("/api/v1/queues/" + path, body).then(function (resp) {
      return resp.json().then(function (data) {
        if (resp.ok) mine = data; else problem = data.message || "That did not work.";
      });
    }).catch(function () { problem = "No connection to the server."; })
      .then(function () { busy = false; renderBar(); });
  }

  function renderBar() {
    if (!bar || !mine) return;
    bar.textContent = "";
    var inQueues = mine.logged_in || [];
    if (!inQueues.length && (!(mine.offered || []).length || !mine.phone)) { bar.hidden = true; return; }
    bar.hidden = false;
    bar.setAttribute("data-state", inQueues.length ? (mine.paused ? "paused" : "in") : "out");
    if (!inQueues.length) {
      bar.appendChild(el("span", "what", "Inbound queues: " + mine.offered.map(function (q) { return q.name; }).join(", ")));
      var login = el("button", null, "Log in");
      login.type = "button";
      login.disabled = busy;
      login.addEventListener("click", function () { act("login", {}); });
      bar.appendChild(login);
    } else {
      var waiting = inQueues.reduce(function (n, q) { return n + (q.waiting || 0); }, 0);
      var states = inQueues.map(function (q) { return q.state; });
      var state = mine.paused ? "paused" : (states.indexOf("in_call") >= 0 || inboundCall ? "in_call" :
                  states.indexOf("ringing") >= 0 ? "ringing" : states.indexOf("wrapup") >= 0 ? "wrapup" : states[0]);
      bar.appendChild(el("span", "what", "Queues: " + inQueues.map(function (q) { return q.name; }).join(", ")));
      bar.appendChild(el("span", "badge state", mine.paused ? "Paused: " + (REASON_TEXT[mine.pause_reason] || mine.pause_reason)
                                                             : (STATE_TEXT[state] || state || "")));
      bar.appendChild(el("span", "waiting", waiting + " waiting"));
      if (mine.paused) {
        var resume = el("button", null, "Resume");
        resume.type = "button";
        resume.disabled = busy;
        resume.addEventListener("click", function () { act("unpause"); });
        bar.appendChild(resume);
      } else {
        var select = el("select", "reason");
        select.setAttribute("aria-label", "Pause reason");
        (mine.reasons || []).forEach(function (r) {
          var opt = el("option", null, REASON_TEXT[r] || r);
          opt.value = r;
          select.appendChild(opt);
        });
        if ((mine.reasons || []).indexOf(reason) >= 0) select.value = reason;
        select.addEventListener("change", function () { reason = select.value; });
        bar.appendChild(select);
        var pause = el("button", "secondary", "Pause");
        pause.type = "button";
        pause.disabled = busy;
        pause.addEventListener("click", function () { act("pause", { reason: select.value }); });
        bar.appendChild(pause);
      }
      var out = el("button", "secondary", "Log out of queues");
      out.type = "button";
      out.disabled = busy;
      out.addEventListener("click", function () { act("logout"); });
      bar.appendChild(out);
    }
    if (problem) bar.appendChild(el("span", "problem", problem));
  }

  function apply(q, v) {
    q.waiting = v.waiting;
    var m = (v.members || []).filter(function (x) { return x.name === me; })[0];
    if (m) q.state = m.state;
  }

  function onBar(v) {
    latest[v.name] = { seq: ++seq, view: v };
    if (!bar || !mine) return;
    var changed = false;
    (mine.logged_in || []).forEach(function (q) {
      if (q.name !== v.name) return;
      apply(q, v);
      changed = true;
    });
    if (changed) renderBar();
  }

  // the reply says how things stood when it was made: a queue message that came
  // while it was under way is newer (e.g. the answer of the call that popped this page)
  function loadBar() {
    if (!bar) return;
    var asked = seq;
    fetch("/api/v1/queues/me", { credentials: "same-origin" }).then(function (resp) {
      return resp.ok ? resp.json() : null;
    }).then(function (data) {
      if (!data) return;
      mine = data;
      (mine.logged_in || []).forEach(function (q) {
        var last = latest[q.name];
        if (last && last.seq > asked) apply(q, last.view);
      });
      renderBar();
    }).catch(function () {});
  }

  // my inbound call is connected: the bar says so with the call panel, whatever queue message is late
  document.addEventListener("cc:call", function (e) {
    var call = (e.detail || {}).call;
    if (!call || !e.detail.mine || call.direction !== "inbound") return;
    var before = inboundCall;
    if (call.state === "connected") inboundCall = call.id;
    else if (call.state === "ended" && inboundCall === call.id) inboundCall = null;
    if (before !== inboundCall) renderBar();
  });

  document.addEventListener("cc:message", function (e) {
    var msg = e.detail;
    if (msg && msg.type === "hello") loadBar();           // (re)connected: state may have moved on
    if (!msg || msg.type !== "queue" || !msg.queue) return;
    onBoard(msg.queue);
    onBar(msg.queue);
  });
  loadBar();
})();
