// The public status page's enhancements; the page is complete without them.
// Writes <time datetime> in the reader's time zone, keeps "Updated N s ago"
// current, and every data-refresh seconds quietly fetches the page again and
// swaps its <main>, keeping the scroll position and open <details>.
"use strict";
(function () {
  var dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeZone: "UTC" });

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      if (!el.title) el.title = el.textContent;
      // Days are UTC days (the bars are), so only their wording changes.
      el.textContent = el.dataset.local === "date" ? dateOnly.format(at) : dateTime.format(at);
    });
  }

  function ago() {
    var el = document.querySelector("[data-updated]");
    if (!el) return;
    var seconds = Math.max(0, Math.round((Date.now() - new Date(el.dataset.updated)) / 1000));
    var text;
    if (seconds < 60) text = seconds + " s ago";
    else if (seconds < 3600) text = Math.floor(seconds / 60) + " min ago";
    else text = Math.floor(seconds / 3600) + " h ago";
    if (el.textContent !== text) el.textContent = text;
  }

  function refresh(main) {
    fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-cache" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (!fresh) return;
        var open = {};
        main.querySelectorAll("details[data-key][open]").forEach(function (d) { open[d.dataset.key] = true; });
        var x = window.scrollX, y = window.scrollY;
        main.innerHTML = fresh.innerHTML;
        main.querySelectorAll("details[data-key]").forEach(function (d) {
          if (open[d.dataset.key]) d.open = true;
        });
        localTimes(main);
        ago();
        window.scrollTo(x, y);
      })
      .catch(function () { /* keep showing what we have; "Updated" ages visibly */ });
  }

  function start() {
    localTimes(document);
    ago();
    setInterval(ago, 1000);
    var main = document.querySelector("main[data-refresh]");
    if (main) {
      var seconds = Number(main.dataset.refresh) || 60;
      setInterval(function () { refresh(main); }, seconds * 1000);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
