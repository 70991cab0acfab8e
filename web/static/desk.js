/* The desk (callcenter/webphone/pages.py): the web phone in the top bar, the
 * agent pages in #desk-frame. Each page the frame loads is mirrored into the
 * desk's address (/desk?page=<path>, history.replaceState) so a reload keeps
 * it; the window's title follows the page. The session ended (the frame shows
 * the login form): the whole desk goes to /login. Logging out from a page in
 * the frame (panel.js) first calls ccDesk.beforeLogout(): the phone hangs up,
 * unregisters and DELETE /api/v1/phone revokes its credentials.
 * window.ccDesk = {beforeLogout(), page()}. No framework; no inline script (CSP). */
(function () {
  "use strict";

  var frame = document.getElementById("desk-frame");
  var START = "/buckets";
  var current = null;

  function framedPath() {
    try {
      var loc = frame.contentWindow.location;
      return loc.origin === location.origin ? loc.pathname + loc.search + loc.hash : null;
    } catch (e) {
      return null;  // not this site (the CSP refuses to show it anyway)
    }
  }

  frame.addEventListener("load", function () {
    var path = framedPath();
    if (!path || path === "about:blank") return;
    var bare = path.split(/[?#]/)[0].replace(/\/+$/, "");
    if (bare === "/login") {  // the panel session ended
      var back = "/desk?page=" + encodeURIComponent(current || START);
      location.replace("/login?next=" + encodeURIComponent(back));
      return;
    }
    if (bare === "/desk") { frame.contentWindow.location.replace(START); return; }  // never a desk in the desk
    current = path;
    history.replaceState(null, "", "/desk?page=" + encodeURIComponent(path));
    try { document.title = frame.contentDocument.title || document.title; } catch (e) { /* not ours */ }
  });

  function beforeLogout() {
    var phone = window.ccPhone;
    return phone ? phone.shutdown().catch(function () {}) : Promise.resolve();
  }

  window.ccDesk = { beforeLogout: beforeLogout, page: function () { return current; } };
})();
