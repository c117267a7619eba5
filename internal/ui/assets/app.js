// hookd dashboard: the little JavaScript it needs, no library. Every page
// works without it; it adds:
// - [data-live]: re-fetches the element from its URL every 2 s while the tab
//   is visible and replaces it (the server renders the fragment, escaped);
//   stops when the new fragment has no data-live (nothing left to wait for).
//   Ticked row checkboxes stay ticked across a refresh.
// - [data-copy]: copies its value and says so in a toast, with a fallback
//   (execCommand) for plain-http setups where navigator.clipboard is absent.
// - form[data-confirm]: asks before a change that has consequences.
// - form[data-autosubmit]: applies a filter as soon as a chip or a select
//   changes; a list being loaded is dimmed.
// - #bulk: counts the ticked rows, selects a page at once, and disables the
//   buttons (saying why) while there is nothing to act on.
(function () {
  "use strict";
  var INTERVAL = 2000;
  var toastTimer = null;

  function toast(text, bad) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.className = "toast show" + (bad ? " bad" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.className = "toast"; }, 2200);
  }

  function checkedIDs() {
    var out = {};
    document.querySelectorAll('input[name="id"][form="bulk"]:checked').forEach(function (c) { out[c.value] = true; });
    return out;
  }

  function poll(el) {
    var url = el.getAttribute("data-live");
    if (!url) return;
    var timer = null, failures = 0;
    var status = document.querySelector("[data-live-status]");
    function say(key) {
      if (!status) return;
      var text = status.querySelector(".live-text");
      if (!status.getAttribute("data-idle")) status.setAttribute("data-idle", text.textContent);
      text.textContent = key ? status.getAttribute("data-" + key) : status.getAttribute("data-idle");
      status.classList.toggle("bad", key === "error");
    }
    function tick() {
      timer = null;
      if (document.hidden) { say("paused"); schedule(); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          failures = 0;
          say("");
          var doc = new DOMParser().parseFromString(
            el.tagName === "TBODY" ? "<table>" + html + "</table>" : html, "text/html");
          var next = doc.getElementById(el.id);
          if (!next) { schedule(); return; }
          var keep = checkedIDs();
          next.querySelectorAll('input[name="id"]').forEach(function (c) { if (keep[c.value]) c.checked = true; });
          el.replaceWith(next);
          el = next;
          // Rows arrived in an empty list: its empty state goes.
          var wrap = el.closest(".table-wrap");
          var empty = wrap && wrap.querySelector(".empty");
          if (empty) empty.hidden = el.querySelector("tr") !== null;
          updateBulk();
          if (el.getAttribute("data-live")) schedule();
        })
        .catch(function () { failures++; if (failures > 1) say("error"); schedule(); });
    }
    function schedule() { if (!timer) timer = setTimeout(tick, INTERVAL * Math.min(1 + failures, 5)); }
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { say(""); schedule(); } });
    schedule();
  }

  function copy(text) {
    var t = document.getElementById("toast");
    var done = function () { toast(t ? t.getAttribute("data-done") : "✓"); };
    var failed = function () { toast(t ? t.getAttribute("data-failed") : "×", true); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text) ? done() : failed(); });
      return;
    }
    fallback(text) ? done() : failed();
  }

  // fallback copies through a hidden textarea: the only way without the
  // Clipboard API (a page served over plain http on a LAN).
  function fallback(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }

  // The bulk bar: how many rows are ticked, and whether its buttons can do
  // anything (the server checks again, and asks before it changes a thing).
  function updateBulk() {
    var form = document.getElementById("bulk");
    if (!form) return;
    var boxes = document.querySelectorAll('input[name="id"][form="bulk"]');
    var n = 0;
    boxes.forEach(function (c) { if (c.checked) n++; });
    var label = form.querySelector("[data-selcount]");
    if (label) {
      var key = n === 0 ? "data-zero" : n === 1 ? "data-one" : "data-many";
      label.textContent = label.getAttribute(key).replace("{n}", String(n));
    }
    var all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    var scope = form.querySelector('input[name="scope"]:checked');
    var idle = scope && scope.value === "selected" && n === 0;
    form.querySelectorAll('button[name="op"]').forEach(function (b) { b.disabled = idle; });
    var why = document.getElementById("bulk-why");
    if (why) {
      if (!why.getAttribute("data-text")) why.setAttribute("data-text", why.textContent);
      why.textContent = idle ? why.getAttribute("data-none") : why.getAttribute("data-text");
    }
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (b) { e.preventDefault(); copy(b.getAttribute("data-copy")); }
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="id"][form="bulk"]').forEach(function (c) { c.checked = t.checked; });
      updateBulk();
      return;
    }
    if (t.matches && (t.matches('input[name="id"][form="bulk"]') || t.matches('#bulk input[name="scope"]'))) {
      updateBulk();
      return;
    }
    var f = t.form;
    if (f && f.hasAttribute("data-autosubmit") && (t.type === "checkbox" || t.tagName === "SELECT")) {
      if (f.requestSubmit) f.requestSubmit(); else f.submit();
    }
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var msg = f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
    if ((f.getAttribute("method") || "get").toLowerCase() === "get") loading();
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest(".pager a, .empty a, .filters a") : null;
    if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey) loading();
  });
  // loading dims the list while the next page is on its way.
  function loading() {
    document.querySelectorAll(".table-wrap").forEach(function (w) { w.classList.add("is-loading"); w.setAttribute("aria-busy", "true"); });
  }
  window.addEventListener("pageshow", function () {
    document.querySelectorAll(".table-wrap.is-loading").forEach(function (w) { w.classList.remove("is-loading"); w.removeAttribute("aria-busy"); });
  });
  document.querySelectorAll("[data-live]").forEach(poll);
  updateBulk();
})();
