// lgrs serve: the page's only script. It reads nothing but data-* attributes
// that the server wrote, never inserts HTML, and only talks to this server.
"use strict";
(function () {
  var body = document.body;
  var url = body.dataset.liveUrl;
  if (!url) return;
  var head = body.dataset.liveHead;
  var every = Math.max(500, parseInt(body.dataset.liveMs || "2000", 10));
  var badge = document.getElementById("live");
  if (badge) badge.hidden = false;
  function poll() {
    if (document.hidden) return schedule();
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.checkpointId && data.checkpointId !== head) {
          window.location.reload();
        } else {
          schedule();
        }
      })
      .catch(function () { if (badge) badge.textContent = "offline"; schedule(); });
  }
  function schedule() { window.setTimeout(poll, every); }
  schedule();
})();
