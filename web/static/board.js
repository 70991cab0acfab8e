/* The supervisor's board (/board, #board): agents by state, calls in progress,
 * queues and trunks. The page carries the server's snapshot (data-board, the
 * shape of GET /api/v1/board); then it follows the page's WebSocket (panel.js)
 * through `cc:message` events, never polling:
 *   hello  -> the socket (re)connected: re-read the snapshot (events may have been missed)
 *   call   -> {call: {id, state, agent_id, work_item_id, requested_at, connected_at, ended_at,
 *                      trunk, number (as an agent may see it), direction, queue?, monitors?}}
 *   queue  -> {queue: <the queue board's view>} (members' states, waiting, today's figures)
 *   monitor-> {step: start|connected|end, session: {id, call_id, mode, supervisor: {name}, state}}
 *             (listen/whisper/barge; the snapshot's calls carry monitors: [{id, supervisor, mode, state}])
 *   board_trunks -> {trunks: [...]} every 2 s (channels, calls/s, refusals, the last hour per minute,
 *                   carrier: {state reachable|unreachable|checking, rtt_ms, since} or null,
 *                   pbx_node, pbx_up: the PBX node hosting the trunk, false while no link reaches it)
 *   disposition_saved -> {agent_id, call_id}: the agent's wrap-up is over
 * The server sends only what the viewer's scope may see; timers run here from
 * start times and the server's clock. No framework; no inline script (CSP).
 * Listen / Whisper / Barge buttons on a connected call's row and its agent's tile
 * POST /api/v1/calls/{id}/monitor (CSRF header as panel.js's posts); errors shown in words. */
(function () {
  "use strict";

  var root = document.getElementById("board");
  if (!root) return;
  var ORDER = ["on_call", "ringing", "wrapup", "paused", "available", "logged_out"];
  var TEXT = { available: "Available", ringing: "Ringing", on_call: "On a call", wrapup: "Wrap-up",
               paused: "Paused", logged_out: "Logged out" };
  var DOING = { listen: "Listening", whisper: "Whispering", barge: "Barging" };
  var MODES = ["listen", "whisper", "barge"];
  var MEMBER = { in_call: "on_call", ringing: "ringing", wrapup: "wrapup", paused: "paused", available: "available" };
  var mine = null, seen = {};  // the session this page started (its steps said in the status line); steps seen
  var board = null, tiles = {}, byName = {}, calls = {}, queues = {}, drawPending = false;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function now() { return window.ccLive ? window.ccLive.serverNow() : Date.now(); }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  }
  function since(iso) { return iso ? (now() - Date.parse(iso)) / 1000 : null; }

  // -- the model ------------------------------------------------------------------
  function load(snapshot) {
    board = snapshot;
    tiles = {}; byName = {}; calls = {}; queues = {};
    (snapshot.agents || []).forEach(function (a) {
      a.members = {};
      a.base = a.state === "paused" ? "paused" : (a.queues && a.queues.length ? "available" : "logged_out");
      tiles[a.id] = a; byName[a.name] = a;
    });
    (snapshot.calls || []).forEach(function (c) { calls[c.id] = c; });
    (snapshot.queues || []).forEach(function (q) { queues[q.name] = q; });
    draw();
  }

  function memberState(tile) {
    var states = Object.keys(tile.members).map(function (k) { return tile.members[k]; });
    for (var i = 0; i < ORDER.length; i++) if (states.indexOf(ORDER[i]) >= 0) return ORDER[i];
    return null;
  }

  function settle(tile) {
    // a click-to-call of theirs wins, then the queues' view, then what the snapshot said
    var call = tile.call && calls[tile.call.id];
    if (call) { tile.state = call.state === "connected" || call.state === "customer_ringing" ? "on_call" : "ringing"; return; }
    tile.call = null;
    var m = memberState(tile);
    if (m) { tile.state = m; if (m !== "paused") tile.base = "available"; return; }
    if (tile.owed_call_id) { tile.state = "wrapup"; return; }
    tile.state = tile.pause ? "paused" : tile.base;
  }

  function onCall(c) {
    if (!board || !c || !c.id) return;
    var tile = tiles[c.agent_id];
    if (!tile) return;  // not on this board (its filters)
    var known = calls[c.id] || { id: c.id, agent: c.agent, agent_id: c.agent_id, number: null, trunk: null,
                                 direction: c.direction || "outbound", campaign: null, monitors: [],
                                 long_after_seconds: board.long_call_seconds };
    // the event's number is as an agent may see it: keep the snapshot's (per the viewer's role)
    Object.keys(c).forEach(function (k) {
      if (c[k] !== null && c[k] !== undefined && !(k === "number" && known.number)) known[k] = c[k];
    });
    known.agent_leg = c.state === "agent_ringing" || c.state === "queued" ? "ringing" : (c.state === "ended" ? "down" : "up");
    known.customer_leg = { customer_ringing: "ringing", connected: "up", ended: "down" }[c.state] || "waiting";
    if (c.state === "ended") {
      delete calls[c.id];
      if (c.work_item_id) { tile.owed_call_id = c.id; tile.since = c.ended_at; }
      tile.call = null;
    } else {
      calls[c.id] = known;
      tile.call = { id: c.id, number: known.number, direction: known.direction, campaign: known.campaign,
                    since: known.connected_at || known.requested_at };
    }
    settle(tile);
    schedule();
  }

  function onQueue(q) {
    if (!board || !q || !queues[q.name]) return;  // a queue outside the board (scope or filter)
    queues[q.name] = q;
    Object.keys(tiles).forEach(function (id) { delete tiles[id].members[q.name]; });
    (q.members || []).forEach(function (m) {
      var tile = byName[m.name];
      if (!tile) return;
      var state = m.paused && !MEMBER[m.state] ? "paused" : MEMBER[m.state];
      if (state) tile.members[q.name] = state;
      tile.pause = m.paused ? { reason: m.reason, since: (tile.pause && tile.pause.since) || new Date(now()).toISOString() } : null;
    });
    Object.keys(tiles).forEach(function (id) { settle(tiles[id]); });
    schedule();
  }

  function onDisposed(msg) {
    var tile = tiles[msg.agent_id];
    if (!tile || !tile.owed_call_id || (msg.call_id && tile.owed_call_id !== msg.call_id)) return;
    tile.owed_call_id = null;
    settle(tile);
    schedule();
  }

  function onMonitor(msg) {
    var s = msg.session || {}, call = calls[s.call_id];
    if (Object.keys(seen).length > 200) seen = {};
    if (s.id) { seen[s.id] = { step: msg.step, mode: s.mode, agent: s.agent && s.agent.name }; }
    if (s.id === mine) tellMine();
    if (!s.id || !call) return;  // a call not on this board; the next snapshot has what is missed
    var list = (call.monitors || []).filter(function (m) { return m.id !== s.id; });
    if (msg.step !== "end" && s.state !== "ended") {
      list.push({ id: s.id, supervisor: (s.supervisor && s.supervisor.name) || "", mode: s.mode, state: s.state });
    }
    call.monitors = list;
    schedule();
  }

  function monitorText(m) {
    return (DOING[m.mode] || m.mode) + ": " + m.supervisor + (m.state === "ringing" ? " (ringing)" : "");
  }
  function monitorBadges(c, tag) {
    var box = el(tag, "monitors");
    ((c && c.monitors) || []).forEach(function (m) {
      var badge = el("span", "badge", monitorText(m));
      badge.setAttribute("data-monitor", m.mode);
      box.appendChild(badge);
    });
    return box;
  }
  function monitorButtons(c) {
    var box = el("span", "monitor-buttons");
    if (!c || c.state !== "connected") return box;
    MODES.forEach(function (mode) {
      var b = el("button", "small", mode.charAt(0).toUpperCase() + mode.slice(1));
      b.type = "button";
      b.setAttribute("data-monitor-call", c.id);
      b.setAttribute("data-monitor-mode", mode);
      b.setAttribute("aria-label", mode + " to " + c.agent + "'s call");
      box.appendChild(b);
    });
    return box;
  }

  function tellMine() {
    // the steps of the session this page asked for (they may come before the POST's answer)
    var step = seen[mine];
    if (!step) return;
    if (step.step === "connected") say((DOING[step.mode] || step.mode) + " on your phone: " + step.agent + "'s call.", false);
    if (step.step === "end") { mine = null; say("", false); }
  }

  function say(text, bad) {
    var box = document.getElementById("board-monitor-status");
    if (!box) return;
    box.textContent = text;
    box.className = bad ? "error" : "notice";
    box.hidden = !text;
  }
  function post(url, body) {
    if (window.ccLive) return window.ccLive.postJSON(url, body);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                        headers: { "Content-Type": "application/json",
                                   "X-CSRF-Token": meta ? meta.getAttribute("content") : "" } });
  }
  function startMonitor(callId, mode) {
    say("Ringing your phone to " + mode + "…", false);
    post("/api/v1/calls/" + encodeURIComponent(callId) + "/monitor", { mode: mode }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.ok) { mine = body.id; say("Your phone is ringing: answer it to " + mode + ".", false); tellMine(); return; }
        var why = body.message || ("the server answered " + r.status);
        if (body.error === "supervisor_has_no_phone") why = "You have no phone to listen on. Set a desk phone " +
          "(SIP endpoint) or a mobile number on your user page, then try again.";
        say("Could not " + mode + ": " + why, true);
      });
    }).catch(function () { say("Could not " + mode + ": the server is not reachable; try again.", true); });
  }
  root.addEventListener("click", function (event) {
    var b = event.target.closest && event.target.closest("button[data-monitor-mode]");
    if (b) startMonitor(b.getAttribute("data-monitor-call"), b.getAttribute("data-monitor-mode"));
  });

  // -- drawing ----------------------------------------------------------------------
  function schedule() {
    if (drawPending) return;
    drawPending = true;
    (window.requestAnimationFrame || setTimeout)(function () { drawPending = false; draw(); });
  }

  function tileNode(a) {
    var t = el("div", "agent-tile");
    t.setAttribute("data-state", a.state);
    t.setAttribute("data-agent", a.name);
    t.appendChild(el("span", "name", a.display_name || a.name));
    t.appendChild(el("span", "state", TEXT[a.state]));
    var detail = "", start = null;
    if (a.call && (a.state === "on_call" || a.state === "ringing")) {
      detail = (a.call.direction === "inbound" ? "← " : "→ ") + (a.call.number || "") +
               (a.call.campaign ? " · " + a.call.campaign : "") + (a.call.queue ? " · " + a.call.queue : "");
      start = a.call.since;
    } else if (a.state === "paused" && a.pause) {
      detail = a.pause.reason || ""; start = a.pause.since;
    } else if (a.state === "wrapup") {
      detail = a.owed_call_id ? "disposition owed" : ""; start = a.since;
    }
    t.appendChild(el("span", "detail", detail));
    var timer = el("span", "timer");
    if (start) timer.setAttribute("data-since", start);
    t.appendChild(timer);
    var call = a.call && a.state === "on_call" ? calls[a.call.id] : null;
    if (call) { t.appendChild(monitorBadges(call, "span")); t.appendChild(monitorButtons(call)); }
    return t;
  }

  function legs(c) { return el("td", "legs", (c.agent_leg || "?") + " / " + (c.customer_leg || "?")); }

  function draw() {
    if (!board) return;
    var list = Object.keys(tiles).map(function (id) { return tiles[id]; });
    list.sort(function (a, b) {
      return ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || (a.name < b.name ? -1 : 1);
    });
    var counts = {};
    ORDER.forEach(function (s) { counts[s] = 0; });
    var grid = document.getElementById("board-tiles");
    var frag = document.createDocumentFragment();
    list.forEach(function (a) { counts[a.state] += 1; frag.appendChild(tileNode(a)); });
    grid.replaceChildren(frag);
    if (!list.length) grid.appendChild(el("p", "muted", "No agents in this view."));
    root.querySelectorAll("[data-count]").forEach(function (n) { n.textContent = counts[n.getAttribute("data-count")]; });
    root.setAttribute("data-size", list.length > 120 ? "huge" : list.length > 60 ? "large" : "normal");
    drawCalls(); drawQueues(); drawTrunks(); tick();
  }

  function drawCalls() {
    var body = document.getElementById("board-calls");
    var list = Object.keys(calls).map(function (id) { return calls[id]; });
    list.sort(function (a, b) { return (a.requested_at || "") < (b.requested_at || "") ? -1 : 1; });
    document.getElementById("board-calls-count").textContent = "(" + list.length + ")";
    body.replaceChildren.apply(body, list.map(function (c) {
      var tr = el("tr");
      tr.setAttribute("data-call", c.id);
      tr.setAttribute("data-long-after", c.long_after_seconds || board.long_call_seconds);
      tr.appendChild(el("td", null, c.agent));
      tr.appendChild(el("td", null, (c.direction === "inbound" ? "← " : "→ ") + (c.number || "")));
      tr.appendChild(legs(c));
      tr.appendChild(el("td", null, c.trunk || ""));
      var timer = el("td", "timer");
      timer.setAttribute("data-since", c.connected_at || c.requested_at);
      tr.appendChild(timer);
      tr.appendChild(qualityCell(c));
      // who is listening in (listen / whisper / barge), and the buttons to join
      var mon = monitorBadges(c, "td");
      mon.appendChild(monitorButtons(c));
      tr.appendChild(mon);
      return tr;
    }));
  }

  // the web phone's MOS estimate (1-4.5), as its reports come in (call_quality messages)
  function qualityCell(c) {
    if (c.mos === null || c.mos === undefined) return el("td", "muted", "–");
    var word = c.mos >= 4.0 ? "good" : c.mos >= 3.6 ? "fair" : c.mos >= 3.1 ? "poor" : "bad";
    var td = el("td", "quality " + word, word + " " + Number(c.mos).toFixed(1));
    td.title = "MOS estimate from the agent's web phone";
    return td;
  }
  function onQuality(msg) {
    var c = calls[msg.call_id];
    if (!c) return;
    c.mos = msg.mos;
    schedule();
  }

  function drawQueues() {
    var body = document.getElementById("board-queues");
    body.replaceChildren.apply(body, Object.keys(queues).sort().map(function (name) {
      var q = queues[name], tr = el("tr"), sl = q.today && q.today.service_level;
      tr.setAttribute("data-queue", name);
      if (q.waiting) tr.className = "alert";
      [name, q.waiting, clock(q.longest_wait || 0), sl === null || sl === undefined ? "–" : Math.round(sl * 100) + "%",
       q.today ? q.today.abandoned : 0, q.logged_in + " / " + ((q.agents && q.agents.paused) || 0)
      ].forEach(function (v) { tr.appendChild(el("td", null, String(v))); });
      return tr;
    }));
  }

  function spark(points) {
    // the last hour, a minute a point: a small line drawn as SVG (no inline script or style needed)
    var NS = "http://www.w3.org/2000/svg", w = 120, h = 22, max = Math.max.apply(null, points.concat([1]));
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", points.reduce(function (a, b) { return a + b; }, 0) + " calls in the last hour");
    var line = document.createElementNS(NS, "polyline");
    line.setAttribute("points", points.map(function (v, i) {
      return (i * w / Math.max(1, points.length - 1)).toFixed(1) + "," + (h - 1 - (v / max) * (h - 2)).toFixed(1);
    }).join(" "));
    svg.appendChild(line);
    return svg;
  }

  // the carrier's reachability (SIP OPTIONS, [pbx] trunk_qualify_seconds), a badge beside the
  // trunk's name (no column of its own: the side column fits a wall TV); none when not monitored
  function carrierBadge(c) {
    var text = c.state === "reachable" ? "up" + (c.rtt_ms === null ? "" : " " + c.rtt_ms + " ms")
      : c.state === "unreachable" ? "carrier down" : "checking";
    var badge = el("span", "carrier " + c.state, text);
    badge.setAttribute("data-carrier", c.state);
    badge.title = "The carrier answers SIP OPTIONS: " + c.state;
    return badge;
  }

  function drawTrunks() {
    var body = document.getElementById("board-trunks");
    body.replaceChildren.apply(body, (board.trunks || []).map(function (t) {
      var tr = el("tr");
      tr.setAttribute("data-trunk", t.name);
      if (t.max_channels && t.in_use >= t.max_channels) tr.className = "alert";
      var name = el("td", null, t.name);
      if (t.pbx_up === false) {  // its Asterisk unreachable: the trunk carries nothing, whatever the counts say
        var down = el("span", "carrier unreachable", "PBX " + t.pbx_node + " down");
        down.setAttribute("data-pbx", "down");
        down.title = "No link to PBX node " + t.pbx_node + ": its calls cannot be placed";
        name.appendChild(document.createTextNode(" "));
        name.appendChild(down);
      } else if (t.carrier) { name.appendChild(document.createTextNode(" ")); name.appendChild(carrierBadge(t.carrier)); }
      tr.appendChild(name);
      [t.in_use + " / " + t.max_channels, t.ours + " / " + t.foreign, t.reserved, t.inbound_free,
       t.calls_per_second === undefined ? "–" : t.calls_per_second, t.rejected_15min === undefined ? "–" : t.rejected_15min,
      ].forEach(function (v) { tr.appendChild(el("td", null, String(v))); });
      var cell = el("td", "spark-cell");
      if (t.last_hour) cell.appendChild(spark(t.last_hour));
      tr.appendChild(cell);
      return tr;
    }));
  }

  function tick() {
    root.querySelectorAll("[data-since]").forEach(function (n) {
      var s = since(n.getAttribute("data-since"));
      n.textContent = s === null ? "" : clock(s);
      var row = n.closest("tr[data-long-after]");
      if (row) row.classList.toggle("long", s > Number(row.getAttribute("data-long-after")));
    });
  }

  // -- the live socket ---------------------------------------------------------------
  function refetch() {
    fetch(root.getAttribute("data-api") + location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (snapshot) { if (snapshot) load(snapshot); })
      .catch(function () { /* the next hello tries again */ });
  }

  document.addEventListener("cc:message", function (event) {
    var msg = event.detail || {};
    if (msg.type === "hello") refetch();
    else if (msg.type === "call") onCall(msg.call);
    else if (msg.type === "queue") onQueue(msg.queue);
    else if (msg.type === "monitor") onMonitor(msg);
    else if (msg.type === "board_trunks" && board) { board.trunks = msg.trunks || []; drawTrunks(); }
    else if (msg.type === "disposition_saved") onDisposed(msg);
    else if (msg.type === "call_quality") onQuality(msg);
  });

  try { load(JSON.parse(root.getAttribute("data-board"))); } catch (e) { refetch(); }
  setInterval(tick, 1000);
  window.ccBoard = { tiles: function () { return tiles; } };
})();
