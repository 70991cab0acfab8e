/* The web phone's call (one at a time), for phone.js on the desk page.
 *
 * An incoming INVITE with X-CC-Answer-After: <ms> is a click-to-call the
 * agent asked for: a short tone, then it answers by itself after that delay
 * (unless "Answer the calls I place by themselves" is off, or the server's
 * auto_answer). Without it (a queue call) it rings with Answer / Decline;
 * the screen pop happens in the frame as before. X-CC-Call-Id names the call
 * in the quality reports (POST /api/v1/phone/quality every quality_interval s).
 * "Test my headset" calls the echo service (echo_uri): you hear yourself.
 * #phone-bar data-call: none / ringing / answering / calling / talking; the
 * call line #phone-call (#phone-peer, #phone-timer, #phone-quality data-mos).
 * window.ccPhoneCall = {onSession(e), hangup(), lost(), replaceMicrophone(stream), session()}. */
(function () {
  "use strict";

  var A = window.ccPhoneAudio;
  var $ = function (id) { return document.getElementById(id); };
  var bar = $("phone-bar"), line = $("phone-call"), peer = $("phone-peer"), timer = $("phone-timer");
  var quality = $("phone-quality"), remote = $("phone-remote"), keypad = $("phone-keypad");
  var buttons = {
    answer: $("phone-answer"), decline: $("phone-decline"), hangup: $("phone-hangup"), mute: $("phone-mute"),
    hold: $("phone-hold"), keypad: $("phone-keypad-toggle"), echo: $("phone-echo-test")
  };
  // which buttons each step of a call shows
  var SHOWN = {
    none: [], ringing: ["answer", "decline"], answering: ["decline"], calling: ["hangup"],
    talking: ["hangup", "mute", "hold", "keypad"]
  };

  var session = null, info = null, step = "none", lostConnection = false;
  var autoTimer = null, tickTimer = null, statsTimer = null, endedTimer = null, lastStats = null;

  function phone() { return window.ccPhone; }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  function show(next, text) {
    step = next;
    bar.setAttribute("data-call", next);
    Object.keys(buttons).forEach(function (name) {
      if (name !== "echo") buttons[name].hidden = SHOWN[next].indexOf(name) < 0;
    });
    if (next !== "talking") { keypad.hidden = true; buttons.keypad.setAttribute("aria-expanded", "false"); }
    buttons.echo.disabled = next !== "none" || !phone() || phone().state() !== "registered";
    line.hidden = next === "none" && !text;
    if (info) peer.textContent = text || info.peer;
    else if (text) peer.textContent = text;
  }
  document.addEventListener("cc:phone-state", function () { show(step); });

  function pcConfig() {
    var config = phone().config() || {};
    return { iceServers: config.ice_servers || [] };
  }

  // -- a new call -------------------------------------------------------------------------
  function onSession(event) {
    var incoming = event.originator === "remote";
    if (session) {  // one call at a time
      if (incoming) event.session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    clearTimeout(endedTimer);
    session = event.session;
    var request = event.request;
    info = incoming ? {
      peer: (request.from && (request.from.display_name || request.from.uri.user)) || "Unknown caller",
      callId: request.getHeader("X-CC-Call-Id") || null,
      answerAfter: request.hasHeader("X-CC-Answer-After") ? parseInt(request.getHeader("X-CC-Answer-After"), 10) : null
    } : { peer: info && info.peer || "Calling…", callId: null, answerAfter: null };
    bind(session);
    if (!incoming) { show("calling"); return; }
    var config = phone().config() || {};
    if (info.answerAfter !== null && config.auto_answer !== false && phone().autoAnswer()) {
      var delay = isNaN(info.answerAfter) ? (config.auto_answer_delay || 0.8) * 1000 : info.answerAfter;
      A.answerTone();
      show("answering", info.peer + " · answering…");
      autoTimer = setTimeout(answer, Math.max(0, delay));
    } else {
      A.ring();
      show("ringing", info.peer + " · ringing");
    }
  }

  // JsSIP sends its SDP only once ICE gathering completes; a network that never
  // completes it (no interface but loopback, an unanswered STUN/TURN) would hang the
  // call. So: go on 1 s after the first candidate (2.5 s with STUN/TURN servers), and
  // at the latest 4 s after the connection exists, with what was gathered.
  function iceGuard(s) {
    var waiting = null, done = false;
    var servers = ((phone().config() || {}).ice_servers || []).length;
    s.on("sdp", function (e) { if (e.originator === "local") done = true; });
    s.on("icecandidate", function (e) {
      if (!waiting) waiting = setTimeout(e.ready, servers ? 2500 : 1000);
    });
    function watch(pc) {
      setTimeout(function () {
        if (done || s !== session || pc.iceGatheringState === "complete") return;
        try { pc.dispatchEvent(new RTCPeerConnectionIceEvent("icecandidate", { candidate: null })); } catch (e) { /* old browser */ }
      }, 4000);
    }
    if (s.connection) watch(s.connection);
    else s.on("peerconnection", function (e) { watch(e.peerconnection); });
  }

  function bind(s) {
    iceGuard(s);
    s.on("accepted", function () { if (s === session) talking(); });
    s.on("confirmed", function () { if (s === session) talking(); });
    s.on("ended", function (e) { ended(s, e); });
    s.on("failed", function (e) { ended(s, e); });
    s.on("muted", function () { pressed(buttons.mute, true, "Unmute"); });
    s.on("unmuted", function () { pressed(buttons.mute, false, "Mute"); });
    s.on("hold", function (e) { if (e.originator === "local") pressed(buttons.hold, true, "Resume"); });
    s.on("unhold", function (e) { if (e.originator === "local") pressed(buttons.hold, false, "Hold"); });
  }
  function pressed(button, on, label) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = label;
  }

  function answer() {
    clearTimeout(autoTimer);
    A.stopRing();
    if (!session || step === "talking") return;
    show("answering", info.peer + " · answering…");
    try {
      session.answer({ mediaStream: phone().mic(), pcConfig: pcConfig() });
    } catch (e) { hangup(); }
  }

  function talking() {
    if (step === "talking") return;
    A.stopRing();
    attachRemote();
    var since = Date.now();
    show("talking");
    timer.textContent = "0:00";
    clearInterval(tickTimer);
    tickTimer = setInterval(function () { timer.textContent = clock((Date.now() - since) / 1000); }, 1000);
    var every = Math.max(1, (phone().config() || {}).quality_interval || 5) * 1000;
    lastStats = null;
    clearInterval(statsTimer);
    statsTimer = setInterval(reportQuality, every);
  }

  // what the other side says, on the chosen speaker
  function attachRemote() {
    var pc = session && session.connection;
    if (!pc) return;
    var tracks = pc.getReceivers().map(function (r) { return r.track; }).filter(Boolean);
    remote.srcObject = new MediaStream(tracks);
    var play = remote.play();
    if (play && play.catch) {
      play.catch(function () {  // autoplay refused until the person touches the page
        document.addEventListener("pointerdown", function () { remote.play().catch(function () {}); },
                                  { once: true, capture: true });
      });
    }
  }

  function ended(s, event) {
    if (s !== session) return;
    clearTimeout(autoTimer);
    clearInterval(tickTimer);
    clearInterval(statsTimer);
    A.stopRing();
    session = null;
    remote.srcObject = null;
    var mic = phone().mic();
    if (mic) mic.getAudioTracks().forEach(function (t) { t.enabled = true; });  // not left muted
    pressed(buttons.mute, false, "Mute");
    pressed(buttons.hold, false, "Hold");
    var cause = lostConnection ? "the connection was lost" : event && event.cause;
    lostConnection = false;
    var text = "Call ended" + (cause && cause !== "Terminated" && cause !== "Bye" ? " (" + cause + ")" : "");
    info = null;
    show("none", text);
    endedTimer = setTimeout(function () { if (!session) { line.hidden = true; quality.textContent = ""; } }, 4000);
  }

  function hangup() {
    clearTimeout(autoTimer);
    A.stopRing();
    if (!session) return;
    try {
      if (step === "ringing" || step === "answering") session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      else session.terminate();
    } catch (e) { /* already ending */ }
  }

  // the SIP WebSocket dropped: the call cannot go on (the server ends its side)
  function lost() {
    if (!session) return;
    lostConnection = true;
    hangup();
  }

  // -- call quality -------------------------------------------------------------------------
  function reportQuality() {
    var pc = session && session.connection;
    if (!pc || !pc.getStats) return;
    var callId = info && info.callId;
    pc.getStats().then(function (report) {
      var inbound = null, rtt = null, pairRtt = null;
      report.forEach(function (s) {
        if (s.type === "inbound-rtp" && (s.kind || s.mediaType) === "audio") inbound = s;
        else if (s.type === "remote-inbound-rtp" && s.roundTripTime !== undefined) rtt = s.roundTripTime;
        else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) pairRtt = s.currentRoundTripTime;
      });
      if (!inbound) return;
      var received = inbound.packetsReceived || 0, lost = Math.max(0, inbound.packetsLost || 0);
      var before = lastStats || { received: 0, lost: 0 };
      var dRecv = received - before.received, dLost = lost - before.lost;
      lastStats = { received: received, lost: lost };
      var body = {
        call_id: callId, jitter_ms: round((inbound.jitter || 0) * 1000),
        loss_pct: dRecv + dLost > 0 ? round(100 * Math.max(0, dLost) / (dRecv + dLost)) : 0,
        rtt_ms: round(((rtt !== null ? rtt : pairRtt) || 0) * 1000),
        packets_received: received, packets_lost: lost
      };
      return phone().api("POST", "/api/v1/phone/quality", body).then(function (resp) {
        return resp.ok ? resp.json() : null;
      }).then(function (answer) { if (answer && typeof answer.mos === "number") showQuality(answer.mos); });
    }).catch(function () { /* the next report tries again */ });
  }
  function round(x) { return Math.round(x * 10) / 10; }
  function showQuality(mos) {
    var word = mos >= 4 ? "good" : mos >= 3.6 ? "fair" : "poor";
    quality.textContent = "Call quality: " + word + " (" + mos.toFixed(1) + ")";
    quality.setAttribute("data-mos", String(mos));
    quality.setAttribute("data-quality", word);
  }

  // -- the microphone changed during a call ---------------------------------------------------
  function replaceMicrophone(stream) {
    var pc = session && session.connection;
    if (!pc) return;
    var track = stream.getAudioTracks()[0];
    pc.getSenders().forEach(function (sender) {
      if (sender.track && sender.track.kind === "audio") sender.replaceTrack(track).catch(function () {});
    });
  }

  // -- buttons ----------------------------------------------------------------------------------
  buttons.answer.addEventListener("click", answer);
  buttons.decline.addEventListener("click", hangup);
  buttons.hangup.addEventListener("click", hangup);
  buttons.mute.addEventListener("click", function () {
    if (!session) return;
    if (session.isMuted().audio) session.unmute({ audio: true }); else session.mute({ audio: true });
  });
  buttons.hold.addEventListener("click", function () {
    if (!session) return;
    if (session.isOnHold().local) session.unhold(); else session.hold();
  });
  buttons.keypad.addEventListener("click", function () {
    keypad.hidden = !keypad.hidden;
    buttons.keypad.setAttribute("aria-expanded", keypad.hidden ? "false" : "true");
  });
  keypad.addEventListener("click", function (event) {
    var digit = event.target.getAttribute && event.target.getAttribute("data-digit");
    if (digit && session && step === "talking") {
      try { session.sendDTMF(digit); } catch (e) { /* not now */ }
    }
  });
  buttons.echo.addEventListener("click", function () {
    var config = phone().config(), ua = phone().ua();
    if (!config || !ua || session) return;
    info = { peer: "Headset test: you should hear yourself", callId: null, answerAfter: null };
    ua.call(config.echo_uri, { mediaStream: phone().mic(), pcConfig: pcConfig() });
  });

  // closing or reloading the desk would drop the call: the browser asks first
  window.addEventListener("beforeunload", function (event) {
    if (session) { event.preventDefault(); event.returnValue = ""; }
  });

  window.ccPhoneCall = {
    onSession: onSession, hangup: hangup, lost: lost, replaceMicrophone: replaceMicrophone,
    session: function () { return session; }
  };
  show("none");
})();
