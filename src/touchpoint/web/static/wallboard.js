// The wallboard kept up to date: the server's event stream (/app/wallboard/stream) sends the
// board's HTML whenever it changes; while the stream is down (or the browser has no
// EventSource) the board is fetched every 2 s instead, and polling stops once the stream
// delivers again. Served by Touchpoint, no CDN.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var timer = null;

  function poll() {
    fetch(board.dataset.live, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (answer) {
        var away = answer.headers.get("HX-Redirect");
        if (away) { window.location.assign(away); return null; }  // signed out
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) { if (html !== null) board.innerHTML = html; })
      .catch(function () { /* the server is away: try again at the next tick */ });
  }

  function polling() {
    board.dataset.mode = "polling";
    if (timer === null) timer = window.setInterval(poll, 2000);
  }

  if (!window.EventSource) { polling(); return; }
  var stream = new EventSource(board.dataset.stream);
  stream.addEventListener("board", function (event) {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    board.dataset.mode = "stream";
    board.innerHTML = event.data;
  });
  stream.addEventListener("error", polling);  // the browser reconnects; poll meanwhile
  window.addEventListener("pagehide", function () { stream.close(); });
})();
