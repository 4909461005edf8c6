// Tactful console: the only script (no build step). Keeps the decision stream live by asking the
// server for rows newer than the newest shown, every few seconds, with the page's own filters.
(function () {
  "use strict";
  var body = document.getElementById("stream-rows");
  if (!body) { return; }
  var status = document.getElementById("stream-status");
  var every = 3000;
  function newest() {
    var first = body.querySelector("tr[data-at]");
    return first ? first.getAttribute("data-at") : body.getAttribute("data-since");
  }
  function poll() {
    var params = new URLSearchParams(window.location.search);
    var after = newest();
    if (after) { params.set("after", after); }
    fetch("/console/decisions/rows?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        if (html.trim()) {
          var holder = document.createElement("tbody");
          holder.innerHTML = html;  // server-rendered and escaped by the same templates as the page
          // The server answers "at or after the newest shown", so skip the rows already here.
          var rows = Array.prototype.slice.call(holder.querySelectorAll("tr[data-id]")).filter(function (row) {
            return !body.querySelector('tr[data-id="' + row.getAttribute("data-id") + '"]');
          });
          rows.reverse().forEach(function (row) { row.classList.add("new"); body.insertBefore(row, body.firstChild); });
          var empty = document.getElementById("stream-empty");
          if (empty) { empty.remove(); }
        }
        if (status) { status.textContent = "live · updated " + new Date().toLocaleTimeString(); }
      })
      .catch(function () { if (status) { status.textContent = "paused (the server did not answer); retrying"; } })
      .finally(function () { window.setTimeout(poll, every); });
  }
  window.setTimeout(poll, every);
})();
