/* The live call panel and notifications: one WebSocket to /ws per page.
 *
 * DOM events (on document), for the pages' own scripts:
 *   cc:hello        detail: the hello message {user, calls, now}
 *   cc:call         detail: {call, mine}          every call step this page may see
 *   cc:call-ended   detail: {call, recovered}     one of MY calls ended (once per call per page;
 *                                                 recovered: learnt from hello after a reconnect)
 *   cc:reminder     detail: the reminder message
 *   cc:bucket-counts detail: the bucket_counts message
 *   cc:screen-pop   detail: the screen_pop message (a queue call is ringing me): the page
 *                   goes to the caller's 360 page (or the new-customer form) at once,
 *                   unless a form here has unsaved input: then a note links to it
 *   cc:message      detail: any message (including the above)
 * window.ccLive: {calls, serverNow(), csrfToken(), postJSON(url, body), localTime(iso)}.
 * The web phone (data-phone-mode="browser"): a page opened top-level goes to the desk
 * (/desk?page=<this page>), whose top bar holds the phone; inside the desk's frame,
 * logging out first lets the desk unregister the phone (ccDesk.beforeLogout).
 * No framework; no inline script (the pages' CSP forbids it). */
(function () {
  "use strict";

  var STATES = ["queued", "agent_ringing", "customer_ringing", "connected", "ended"];
  var STATE_TEXT = {
    queued: "Waiting for a free line…",
    agent_ringing: "Ringing your phone…",
    customer_ringing: "Ringing the customer…",
    connected: "Connected",
    ended: "Call ended"
  };
  var REASON_TEXT = {
    completed: "completed",
    agent_no_answer: "you did not answer your phone",
    agent_busy: "your phone was busy",
    agent_rejected: "you declined on your phone",
    agent_unreachable: "your phone could not be reached",
    agent_hungup: "you hung up",
    agent_cancelled: "cancelled",
    customer_busy: "the customer was busy",
    customer_no_answer: "the customer did not answer",
    customer_rejected: "the customer declined",
    customer_unreachable: "the customer was unreachable (switched off or out of coverage)",
    invalid_number: "invalid number",
    originate_timeout: "the call could not be placed",
    originate_failed: "the call could not be placed",
    pbx_disconnected: "the phone system was disconnected",
    trunk_full: "no free line",
    cancelled: "cancelled"
  };

  var body = document.body;
  var framed = window.top !== window;
  if (!framed && body.getAttribute("data-phone-mode") === "browser") {
    location.replace("/desk?page=" + encodeURIComponent(location.pathname + location.search + location.hash));
    return;
  }
  var me = Number(body.getAttribute("data-user-id")) || null;
  var panel = document.getElementById("call-panel");
  var notes = document.getElementById("notifications");
  var status = document.getElementById("live-status");
  var calls = new Map();          // id -> latest call message
  var endedFired = new Set();     // my calls whose cc:call-ended was fired
  var shown = null;               // id of the call in the panel
  var offset = 0;                 // server clock - this clock (ms)
  var socket = null, retry = 0, retryTimer = null, tickTimer = null, closing = false;

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }
  function serverNow() { return Date.now() + offset; }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function postJSON(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(data || {})
    });
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }
  // a time in the call center's configured zone (settings.web.timezone), as the pages show times
  function localTime(iso) {
    var options = { dateStyle: "medium", timeStyle: "short" };
    var zone = body.getAttribute("data-timezone");
    try {
      return new Date(iso).toLocaleString([], zone ? Object.assign({ timeZone: zone }, options) : options);
    } catch (e) {
      return new Date(iso).toLocaleString([], options);
    }
  }
  function setStatus(state) { if (status) status.setAttribute("data-state", state); }

  // -- the panel -------------------------------------------------------------
  function timerText(call) {
    if (call.state === "connected" && call.connected_at) {
      return clock((serverNow() - Date.parse(call.connected_at)) / 1000);
    }
    if (call.state === "ended" && call.talk_seconds !== null && call.talk_seconds !== undefined) {
      return "talked " + clock(call.talk_seconds);
    }
    return "";
  }

  function render() {
    if (!panel) return;
    var call = shown ? calls.get(shown) : null;
    clearInterval(tickTimer);
    tickTimer = null;
    panel.textContent = "";
    if (!call) { panel.hidden = true; panel.removeAttribute("data-state"); return; }
    panel.hidden = false;
    panel.setAttribute("data-state", call.state);
    panel.setAttribute("data-call-id", call.id);
    var text = STATE_TEXT[call.state] || call.state;
    if (call.state === "ended") {
      text += " — " + (REASON_TEXT[call.end_reason] || call.end_reason || "ended");
    }
    panel.appendChild(el("span", "state", text));
    var timer = el("span", "timer", timerText(call));
    panel.appendChild(timer);
    if (call.state !== "ended") {
      var hang = el("button", "danger hangup", "Hang up");
      hang.type = "button";
      hang.addEventListener("click", function () {
        hang.disabled = true;
        var url = localUrl(call.hangup_url) ? call.hangup_url  // an inbound call: its own route
          : "/api/v1/calls/" + encodeURIComponent(call.id) + "/hangup";
        postJSON(url).catch(function () {
          hang.disabled = false;
        });
      });
      panel.appendChild(hang);
    } else {
      var close = el("button", "secondary close", "Close");
      close.type = "button";
      close.setAttribute("aria-label", "Close the call panel");
      close.addEventListener("click", function () { shown = null; render(); });
      panel.appendChild(close);
    }
    if (call.state === "connected") {
      tickTimer = setInterval(function () { timer.textContent = timerText(call); }, 1000);
    }
  }

  function onCall(call, recovered) {
    var known = calls.get(call.id);
    if (known && STATES.indexOf(known.state) > STATES.indexOf(call.state)) return;  // stale step
    calls.set(call.id, call);
    var mine = me !== null && call.agent_id === me;
    emit("cc:call", { call: call, mine: mine });
    if (!mine) return;
    if (call.state !== "ended" || !shown || shown === call.id || calls.get(shown).state === "ended") {
      shown = call.id;
    }
    render();
    if (call.state === "ended" && !endedFired.has(call.id)) {
      endedFired.add(call.id);
      emit("cc:call-ended", { call: call, recovered: !!recovered });
    }
  }

  // -- notifications -----------------------------------------------------------
  var NOTICE_SECONDS = 10;
  function onReminder(msg) {
    emit("cc:reminder", msg);
    if (!notes) return;
    var key = msg.id !== undefined ? "reminder-" + msg.id : null;
    if (key && document.getElementById(key)) return;
    var note = el("div", "note" + (msg.missed ? " missed" : ""));
    if (key) note.id = key;
    note.setAttribute("role", "status");
    var dismiss = el("button", "secondary", "×");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.addEventListener("click", function () { note.remove(); });
    note.appendChild(dismiss);
    note.appendChild(el("strong", null, msg.title || (msg.missed ? "Missed follow-up" : "Follow-up due")));
    var line = msg.text || msg.message || msg.customer_name || "";
    if (line) { note.appendChild(document.createElement("br")); note.appendChild(el("span", null, line)); }
    if (msg.due_at) {
      note.appendChild(document.createElement("br"));
      note.appendChild(el("span", "muted", "Due " + localTime(msg.due_at)));
    }
    var link = null;
    if (msg.url && msg.url.charAt(0) === "/" && msg.url.charAt(1) !== "/") {
      link = el("a", "open", "Open");
      link.href = msg.url;
      note.appendChild(link);
    }
    notes.appendChild(note);
    // a plain notice (nothing due, nothing to open: "3 rows committed") fades after a
    // while, so it never sits on the page's buttons; one the user points at stays
    if (!msg.due_at && !msg.missed && !link) {
      var fade = setTimeout(function () { note.remove(); }, NOTICE_SECONDS * 1000);
      note.addEventListener("mouseenter", function () { clearTimeout(fade); });
    }
  }

  // -- screen pop: a queue call rings me ------------------------------------------
  var dirty = false;  // a form with method=post on this page has unsaved input
  document.addEventListener("input", function (event) {
    var form = event.target && event.target.form;
    if (form && (form.getAttribute("method") || "").toLowerCase() === "post") dirty = true;
  });
  document.addEventListener("submit", function () { dirty = false; });

  function localUrl(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\";
  }

  function onScreenPop(msg) {
    emit("cc:screen-pop", msg);
    if (!localUrl(msg.url)) return;
    var here = location.pathname + location.search;
    if (here === msg.url) return;
    if (!dirty) { location.assign(msg.url); return; }
    if (!notes) return;
    var note = el("div", "note incoming");
    note.setAttribute("role", "alert");
    var dismiss = el("button", "secondary", "×");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.addEventListener("click", function () { note.remove(); });
    note.appendChild(dismiss);
    note.appendChild(el("strong", null, "Incoming call" + (msg.queue ? " · " + msg.queue : "")));
    note.appendChild(document.createElement("br"));
    note.appendChild(el("span", null, (msg.customer_name || (msg.customer_id ? "A customer" : "New caller")) +
      (msg.number ? " · " + msg.number : "") + (msg.language ? " · " + msg.language : "")));
    var link = el("a", "open", msg.customer_id ? "Open the customer" : "New customer");
    link.href = msg.url;
    note.appendChild(link);
    notes.appendChild(note);
  }

  // -- a supervisor monitors my call ([monitor] notice_* in the server's config) ------
  var MONITOR_TEXT = {
    listen: "A supervisor is listening to this call",
    whisper: "A supervisor is listening and may speak to you (the customer cannot hear them)",
    barge: "A supervisor has joined this call"
  };

  function onMonitor(msg) {
    emit("cc:monitor", msg);
    var session = msg.session || {};
    if (!notes || !msg.notice || !session.agent || session.agent.id !== me) return;
    var key = "monitor-" + session.id;
    var note = document.getElementById(key);
    if (msg.step === "end") { if (note) note.remove(); return; }
    if (note) return;
    note = el("div", "note monitor");
    note.id = key;
    note.setAttribute("role", "status");
    note.setAttribute("data-mode", session.mode || "");
    note.appendChild(el("strong", null, MONITOR_TEXT[session.mode] || MONITOR_TEXT.listen));
    notes.appendChild(note);
  }

  // -- the socket ----------------------------------------------------------------
  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (msg.now) offset = Date.parse(msg.now) - Date.now();
    emit("cc:message", msg);
    if (msg.type === "hello") {
      retry = 0;
      (msg.calls || []).forEach(function (call) { onCall(call, true); });
      emit("cc:hello", msg);
    } else if (msg.type === "call" && msg.call) {
      onCall(msg.call, false);
    } else if (msg.type === "reminder") {
      onReminder(msg);
    } else if (msg.type === "bucket_counts") {
      emit("cc:bucket-counts", msg);
    } else if (msg.type === "screen_pop") {
      onScreenPop(msg);
    } else if (msg.type === "monitor") {
      onMonitor(msg);
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (closing || (socket && socket.readyState <= 1)) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    socket = new WebSocket(url);
    socket.addEventListener("open", function () { setStatus("online"); });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      setStatus("offline");
      socket = null;
      if (event.code === 4001) {  // the session ended: log in again
        location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
        return;
      }
      schedule();
    });
  }

  function schedule() {
    if (closing || retryTimer) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, retry)) * (0.75 + Math.random() * 0.5);
    retry = Math.min(retry + 1, 5);
    retryTimer = setTimeout(connect, delay);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket) { retry = 0; connect(); }
  });
  window.addEventListener("online", function () { retry = 0; connect(); });
  window.addEventListener("pagehide", function () { closing = true; if (socket) socket.close(1000); });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { closing = false; retry = 0; connect(); }  // back from the bfcache
  });

  // htmx requests from the pages carry the session's CSRF token too
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // in the desk: the phone unregisters and its credentials are revoked before the logout
  var logout = document.getElementById("logout-form");
  if (logout && framed) {
    logout.addEventListener("submit", function (event) {
      var desk = null;
      try { desk = window.top.ccDesk; } catch (e) { desk = null; }
      if (!desk) return;
      event.preventDefault();
      var button = logout.querySelector("button");
      if (button) button.disabled = true;
      desk.beforeLogout().then(function () { logout.submit(); }, function () { logout.submit(); });
    });
  }

  window.ccLive = { calls: calls, serverNow: serverNow, csrfToken: csrfToken, postJSON: postJSON,
                    localTime: localTime };
  connect();
})();
