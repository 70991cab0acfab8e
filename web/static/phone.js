/* The web phone in the desk's top bar (callcenter/webphone/pages.py): JsSIP
 * over the SIP WebSocket, registered with this login's credentials.
 *
 * Credentials come from GET /api/v1/phone at each desk load and live only in
 * this page's memory (never in storage). The bar's state (#phone-state and
 * #phone-bar data-state): connecting / registered / offline / no_microphone /
 * taken_over / not_browser_phone / stopped. Close codes of /sip: 4001 the
 * panel session ended (-> /login), 4002 another tab or device took the phone
 * (no reconnect; "Use the phone here" takes it back); any other close:
 * JsSIP reconnects (1-5 s back-off) and registers again.
 * The call itself (answer, hold, DTMF, quality) is in phone_call.js.
 * window.ccPhone = {state(), shutdown(), config(), mic(), ua()}. No framework; no inline script (CSP). */
(function () {
  "use strict";

  var A = window.ccPhoneAudio;
  var $ = function (id) { return document.getElementById(id); };
  var bar = $("phone-bar"), stateEl = $("phone-state"), level = $("phone-level");
  var micSelect = $("phone-mic"), speakerSelect = $("phone-speaker"), remote = $("phone-remote");
  var autoBox = $("phone-auto-answer");
  var KEYS = { auto: "cc.phone.autoAnswer", mic: "cc.phone.mic", speaker: "cc.phone.speaker" };
  var TEXT = {
    connecting: "Connecting the phone…",
    registered: "Phone ready",
    reconnecting: "Phone connection lost: reconnecting…",
    offline: "Phone offline",
    taken_over: "Your phone was opened in another tab or device",
    not_browser_phone: "This account does not use the browser phone",
    stopped: "Phone off"
  };

  var config = null, ua = null, mic = null, state = "connecting", stopping = false;
  var retryTimer = null, offlineTimer = null;

  function pref(key, fallback) {
    try { var v = localStorage.getItem(key); return v === null ? fallback : v; } catch (e) { return fallback; }
  }
  function setPref(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode */ } }

  function setState(next, text) {
    state = next;
    bar.setAttribute("data-state", next);
    stateEl.setAttribute("data-state", next);
    stateEl.textContent = text || TEXT[next] || next;
    $("phone-takeover").hidden = next !== "taken_over";
    $("phone-mic-retry").hidden = next !== "no_microphone";
    document.dispatchEvent(new CustomEvent("cc:phone-state", { detail: { state: next } }));
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function api(method, url, body, keepalive) {
    var headers = { "X-CSRF-Token": csrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, credentials: "same-origin", cache: "no-store", headers: headers,
                        keepalive: !!keepalive, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  function toLogin() {
    var here = location.pathname + location.search;
    window.top.location.href = "/login?next=" + encodeURIComponent(here);
  }

  // -- start: credentials, microphone, SIP ---------------------------------------------
  function start() {
    clearTimeout(retryTimer);
    stopUA();
    setState("connecting");
    api("GET", "/api/v1/phone").then(function (resp) {
      if (resp.status === 401) { toLogin(); return null; }
      if (resp.status === 409) {
        return resp.json().catch(function () { return {}; }).then(function (body) {
          setState("not_browser_phone", body.message || TEXT.not_browser_phone);
          return null;
        });
      }
      if (resp.status === 503) {  // busy (Asterisk still loading this login's phone): as it says
        var wait = Math.min(10, Math.max(1, Number(resp.headers.get("Retry-After")) || 3));
        setState("connecting", "Phone connecting… (the phone system is busy)");
        retryTimer = setTimeout(start, wait * 1000);
        return null;
      }
      if (!resp.ok) throw new Error("GET /api/v1/phone: " + resp.status);
      return resp.json();
    }).then(function (cfg) {
      if (!cfg) return;
      config = cfg;
      return ensureMicrophone().then(function (ok) { if (ok) startUA(); });
    }).catch(function () {
      setState("offline", "Phone offline: the server did not answer, trying again…");
      retryTimer = setTimeout(start, 5000);
    });
  }

  function ensureMicrophone() {
    if (mic && mic.getAudioTracks().some(function (t) { return t.readyState === "live"; })) {
      return Promise.resolve(true);
    }
    return A.openMicrophone(pref(KEYS.mic, "")).then(function (stream) {
      useMicrophone(stream);
      return true;
    }, function (error) {
      setState("no_microphone", A.micProblem(error));
      return false;
    });
  }

  function useMicrophone(stream) {
    var old = mic;
    mic = stream;
    A.startMeter(mic, level);
    if (window.ccPhoneCall) window.ccPhoneCall.replaceMicrophone(mic);
    if (old && old !== mic) old.getTracks().forEach(function (t) { t.stop(); });
    var track = mic.getAudioTracks()[0];
    var settings = track && track.getSettings ? track.getSettings() : {};
    A.fillPickers(micSelect, speakerSelect, settings.deviceId || pref(KEYS.mic, ""));
  }

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + (path || "/sip");
  }

  function startUA() {
    stopping = false;
    var socket = new JsSIP.WebSocketInterface(socketUrl(config.ws_path));
    ua = new JsSIP.UA({
      sockets: [socket], uri: config.uri, password: config.password, realm: config.realm,
      authorization_user: config.endpoint, display_name: config.display_name,
      register: true, register_expires: 300, session_timers: false, user_agent: "callcenter-webphone",
      connection_recovery_min_interval: 1, connection_recovery_max_interval: 5
    });
    var mine = ua;
    ua.on("connecting", function () {
      if (mine === ua && ["registered", "connecting", "offline"].indexOf(state) < 0) setState("connecting");
    });
    ua.on("registered", function () { if (mine === ua) setState("registered"); });
    ua.on("unregistered", function () {
      if (mine === ua && !stopping && state === "registered") setState("connecting", TEXT.reconnecting);
    });
    ua.on("registrationFailed", function (e) {
      // the socket dropped mid-REGISTER: the transport's recovery registers again
      if (mine !== ua || e.cause === JsSIP.C.causes.CONNECTION_ERROR) return;
      setState("offline", "Phone offline: registration refused (" + (e.cause || "error") + "), trying again…");
      // credentials revoked or replaced: fetch them again (a new login gives new ones)
      clearTimeout(retryTimer);
      retryTimer = setTimeout(start, 5000);
    });
    ua.on("disconnected", function (e) { if (mine === ua) onDisconnected(e && e.code); });
    ua.on("newRTCSession", function (e) {
      if (window.ccPhoneCall) window.ccPhoneCall.onSession(e);
    });
    ua.start();
  }

  function onDisconnected(code) {
    if (stopping) return;
    if (code === 4001 || code === 4002) clearTimeout(retryTimer);
    if (code === 4001) { stopUA(); setState("stopped", "Your session ended: log in again"); toLogin(); return; }
    if (code === 4002) { stopUA(); setState("taken_over"); return; }
    setState("connecting", TEXT.reconnecting);  // JsSIP reconnects with back-off and registers again
    if (window.ccPhoneCall) window.ccPhoneCall.lost();  // the server ends the call too: end it here
    clearTimeout(offlineTimer);
    offlineTimer = setTimeout(function () {     // still not back after 10 s: say it is offline
      if (ua && state === "connecting") setState("offline", "Phone offline: reconnecting…");
    }, 10000);
  }

  function stopUA() {
    if (!ua) return;
    var old = ua;
    ua = null;
    stopping = true;
    try { old.stop(); } catch (e) { /* already stopped */ }
  }

  // at logout: hang up, unregister, stop, and revoke this login's credentials
  function shutdown() {
    clearTimeout(retryTimer);
    if (window.ccPhoneCall) window.ccPhoneCall.hangup();
    var done = new Promise(function (resolve) {
      if (!ua || !ua.isRegistered()) { resolve(); return; }
      ua.once("unregistered", resolve);
      ua.once("registrationFailed", resolve);
      try { ua.unregister(); } catch (e) { resolve(); }
      setTimeout(resolve, 1500);
    });
    return done.then(function () {
      stopUA();
      setState("stopped");
      var revoke = api("DELETE", "/api/v1/phone", undefined, true).catch(function () {});
      return Promise.race([revoke, new Promise(function (r) { setTimeout(r, 2000); })]);
    });
  }

  // -- the bar's controls -----------------------------------------------------------------
  $("phone-takeover").addEventListener("click", start);
  $("phone-mic-retry").addEventListener("click", start);
  autoBox.checked = pref(KEYS.auto, "1") === "1";
  autoBox.addEventListener("change", function () { setPref(KEYS.auto, autoBox.checked ? "1" : "0"); });
  micSelect.addEventListener("change", function () {
    setPref(KEYS.mic, micSelect.value);
    A.openMicrophone(micSelect.value).then(useMicrophone, function (error) {
      setState("no_microphone", A.micProblem(error));
    });
  });
  speakerSelect.addEventListener("change", function () {
    setPref(KEYS.speaker, speakerSelect.value);
    A.setSpeaker(remote, speakerSelect.value).catch(function () {});
  });
  if (pref(KEYS.speaker, "")) A.setSpeaker(remote, pref(KEYS.speaker, "")).catch(function () {});
  $("phone-record-test").addEventListener("click", function (event) {
    var button = event.currentTarget;
    var say = function (text) { $("phone-test-status").textContent = text; };
    ensureMicrophone().then(function (ok) {
      if (!ok) { say("No microphone to test"); return; }
      button.disabled = true;
      return A.recordAndPlay(mic, 5, say);
    }).then(function () { button.disabled = false; });
  });
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", function () {
      if (state === "no_microphone") { start(); return; }   // a headset was plugged in
      A.fillPickers(micSelect, speakerSelect, micSelect.value);
    });
  }
  window.addEventListener("pagehide", function () { stopUA(); });

  window.ccPhone = {
    state: function () { return state; },
    shutdown: shutdown,
    config: function () { return config; },
    mic: function () { return mic; },
    ua: function () { return ua; },
    autoAnswer: function () { return autoBox.checked; },
    api: api
  };
  start();
})();
