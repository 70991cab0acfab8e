/* The web phone's sound and devices (used by phone.js on the desk page):
 * the microphone, the ringtone and the answer tone (WebAudio), the live
 * microphone level (AnalyserNode), the microphone and speaker pickers
 * (enumerateDevices, HTMLMediaElement.setSinkId where the browser has it) and
 * the record-and-play headset test (MediaRecorder, nothing leaves the page).
 * window.ccPhoneAudio = {resume, openMicrophone, micProblem, startMeter, ring, stopRing,
 *                        answerTone, fillPickers, setSpeaker, recordAndPlay}.
 * No framework; no inline script (CSP). */
(function () {
  "use strict";

  var ctx = null;
  var ringTimer = null;
  var speakerId = "";
  var meterTimer = null, meterSource = null;

  function audioContext() {
    if (!ctx) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      ctx = new Ctx();
    }
    if (ctx.state === "suspended") ctx.resume().catch(function () {});
    return ctx;
  }
  // an AudioContext starts suspended until the person touches the page (autoplay rules)
  function resume() { if (ctx && ctx.state === "suspended") ctx.resume().catch(function () {}); }
  document.addEventListener("pointerdown", resume, true);
  document.addEventListener("keydown", resume, true);

  // -- the microphone -----------------------------------------------------------
  function openMicrophone(deviceId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(Object.assign(new Error("no media devices"), { name: "NotSupportedError" }));
    }
    var audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (deviceId) audio.deviceId = { exact: deviceId };
    return navigator.mediaDevices.getUserMedia({ audio: audio, video: false }).catch(function (error) {
      if (deviceId && (error.name === "OverconstrainedError" || error.name === "NotFoundError")) {
        return openMicrophone("");  // the chosen headset is gone: the default one
      }
      throw error;
    });
  }
  // what the bar says when getUserMedia failed
  function micProblem(error) {
    var name = error && error.name;
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
      return "No microphone: plug in a headset";
    }
    if (name === "NotReadableError") return "No microphone: another program is using it";
    if (name === "NotSupportedError" || name === "TypeError") {
      return "No microphone: this page must be opened over https";
    }
    return "No microphone: allow the microphone for this site";
  }

  // the level of ``stream`` (0-100) into ``meter`` ten times a second
  function startMeter(stream, meter) {
    clearInterval(meterTimer);
    if (meterSource) { try { meterSource.disconnect(); } catch (e) { /* gone */ } meterSource = null; }
    var audio = audioContext();
    if (!audio || !meter || !stream) return;
    var analyser = audio.createAnalyser();
    analyser.fftSize = 512;
    meterSource = audio.createMediaStreamSource(stream);
    meterSource.connect(analyser);
    var data = new Float32Array(analyser.fftSize);
    meterTimer = setInterval(function () {
      analyser.getFloatTimeDomainData(data);
      var sum = 0;
      for (var i = 0; i < data.length; i++) sum += data[i] * data[i];
      var level = Math.min(100, Math.round(Math.sqrt(sum / data.length) * 300));
      meter.value = level;
      meter.setAttribute("data-level", String(level));
    }, 100);
  }

  // -- tones ----------------------------------------------------------------------
  function tone(freqs, start, length, gain) {
    var audio = audioContext();
    if (!audio) return;
    var out = audio.createGain();
    out.gain.setValueAtTime(0, start);
    out.gain.linearRampToValueAtTime(gain, start + 0.02);
    out.gain.setValueAtTime(gain, start + length - 0.03);
    out.gain.linearRampToValueAtTime(0, start + length);
    out.connect(audio.destination);
    freqs.forEach(function (f) {
      var osc = audio.createOscillator();
      osc.frequency.value = f;
      osc.connect(out);
      osc.start(start);
      osc.stop(start + length);
    });
  }
  function ringOnce() {
    var audio = audioContext();
    if (!audio) return;
    var t = audio.currentTime + 0.05;
    tone([400, 450], t, 0.4, 0.15);   // "ring ring", as phones in India ring
    tone([400, 450], t + 0.6, 0.4, 0.15);
  }
  function ring() { stopRing(); ringOnce(); ringTimer = setInterval(ringOnce, 3000); }
  function stopRing() { clearInterval(ringTimer); ringTimer = null; }
  // a short double beep before a click-to-call answers by itself
  function answerTone() {
    var audio = audioContext();
    if (!audio) return;
    tone([880], audio.currentTime + 0.02, 0.12, 0.12);
    tone([880], audio.currentTime + 0.2, 0.12, 0.12);
  }

  // -- pickers ----------------------------------------------------------------------
  function fillPickers(micSelect, speakerSelect, currentMic) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve();
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      fill(micSelect, devices.filter(function (d) { return d.kind === "audioinput"; }), currentMic, "Microphone");
      var speakers = devices.filter(function (d) { return d.kind === "audiooutput"; });
      var canPick = "setSinkId" in HTMLMediaElement.prototype;
      fill(speakerSelect, canPick ? speakers : [], speakerId, "Speaker");
      if (speakerSelect) speakerSelect.disabled = !canPick || speakers.length === 0;
    });
  }
  function fill(select, devices, current, kind) {
    if (!select) return;
    select.textContent = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = "System default";
    select.appendChild(first);
    devices.forEach(function (device, index) {
      if (!device.deviceId || device.deviceId === "default") return;
      var option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || kind + " " + (index + 1);
      if (device.deviceId === current) option.selected = true;
      select.appendChild(option);
    });
  }
  function setSpeaker(element, id) {
    speakerId = id || "";
    if (ctx && ctx.setSinkId) ctx.setSinkId(speakerId).catch(function () {});
    if (element && element.setSinkId) return element.setSinkId(speakerId);
    return Promise.resolve();
  }

  // -- record 5 s and play it back (no server needed) --------------------------------
  function recordAndPlay(stream, seconds, say) {
    if (!window.MediaRecorder || !stream) { say("This browser cannot record"); return Promise.resolve(); }
    return new Promise(function (resolve) {
      var chunks = [];
      var recorder = new MediaRecorder(stream);
      recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
      recorder.onstop = function () {
        say("Playing it back…");
        new Blob(chunks, { type: recorder.mimeType }).arrayBuffer()
          .then(function (buffer) { return audioContext().decodeAudioData(buffer); })
          .then(function (decoded) {
            var source = ctx.createBufferSource();
            source.buffer = decoded;
            source.connect(ctx.destination);
            source.onended = function () { say("Done: did you hear yourself?"); resolve(); };
            source.start();
          })
          .catch(function () { say("The recording could not be played"); resolve(); });
      };
      say("Recording: say something for " + seconds + " s…");
      recorder.start();
      setTimeout(function () { recorder.stop(); }, seconds * 1000);
    });
  }

  window.ccPhoneAudio = {
    resume: resume, openMicrophone: openMicrophone, micProblem: micProblem, startMeter: startMeter,
    ring: ring, stopRing: stopRing, answerTone: answerTone, fillPickers: fillPickers,
    setSpeaker: setSpeaker, recordAndPlay: recordAndPlay
  };
})();
