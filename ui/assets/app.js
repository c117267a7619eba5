// hookd dashboard: the little JavaScript it needs, no library.
// - [data-live]: re-fetches the element from its URL every 2 s while the tab
//   is visible and replaces it (the server renders the fragment, escaped);
//   stops when the new fragment has no data-live (nothing left to wait for).
// - [data-copy]: copies its value, with a fallback for plain-http setups.
// - form[data-confirm]: asks before a change that has consequences.
(function () {
  "use strict";
  var INTERVAL = 2000;

  function poll(el) {
    var url = el.getAttribute("data-live");
    if (!url) return;
    var timer = null;
    function tick() {
      timer = null;
      if (document.hidden) { schedule(); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(
            el.tagName === "TBODY" ? "<table>" + html + "</table>" : html, "text/html");
          var next = doc.getElementById(el.id);
          if (!next) { schedule(); return; }
          el.replaceWith(next);
          el = next;
          if (el.getAttribute("data-live")) schedule();
        })
        .catch(function () { schedule(); });
    }
    function schedule() { if (!timer) timer = setTimeout(tick, INTERVAL); }
    document.addEventListener("visibilitychange", function () { if (!document.hidden) schedule(); });
    schedule();
  }

  function copy(text, btn) {
    function done() {
      var old = btn.textContent;
      btn.textContent = "✓";
      setTimeout(function () { btn.textContent = old; }, 1200);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* nothing to copy to */ }
    document.body.removeChild(ta);
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (b) { e.preventDefault(); copy(b.getAttribute("data-copy"), b); }
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var msg = f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  document.querySelectorAll("[data-live]").forEach(poll);
})();
