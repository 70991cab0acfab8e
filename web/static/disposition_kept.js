// The "disposition not saved yet" page (the database was unavailable): send
// the kept answers again after the server's Retry-After, counting down. The
// server saves a disposition once however often it is sent.
(function () {
  "use strict";
  var box = document.getElementById("disposition-kept");
  var form = document.getElementById("disposition-kept-form");
  if (!box || !form) { return; }
  var left = Math.max(1, Number(box.dataset.retryAfter) || 5);
  var shown = document.getElementById("kept-countdown");
  var timer = setInterval(function () {
    left -= 1;
    if (shown) { shown.textContent = String(Math.max(left, 0)); }
    if (left <= 0) {
      clearInterval(timer);
      form.submit();
    }
  }, 1000);
  form.addEventListener("submit", function () { clearInterval(timer); });
})();
