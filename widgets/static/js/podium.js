// Shared helpers for Podium's live widgets. Data arrives as JSON and is only ever put into
// the page as text (textContent), never parsed as HTML, so nothing an attendee typed can run.
"use strict";

window.Podium = (function () {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Only http(s) addresses become links; anything else (javascript:, data:) is dropped.
  function safeHref(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(url, text, className) {
    const href = url ? safeHref(url) : null;
    if (!href) return el("span", className, text);
    const a = el("a", className, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function initialData() {
    const node = document.getElementById("podium-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  // Server-sent events: call render with each JSON payload. EventSource gives up for good on an
  // error answer (the server says 503 when it has as many live pages open as it takes), and
  // after a dropped connection it retries every few seconds however long the server is away.
  // So every failure closes the source and a new one opens after a pause that doubles each time
  // (and varies a little, so pages that lost the server together do not return together), until
  // data arrives again.
  const FIRST_PAUSE_MS = 5000, LONGEST_PAUSE_MS = 60000;

  function subscribe(url, render) {
    const status = document.getElementById("status");
    let pause = FIRST_PAUSE_MS;
    function show(text, className) {
      if (status) { status.textContent = text; status.className = className; }
    }
    function connect() {
      const source = new EventSource(url);
      source.onopen = function () { show("● live", "status live"); };
      source.onerror = function () {
        source.close();
        show("reconnecting…", "status down");
        window.setTimeout(connect, pause * (0.5 + Math.random() / 2));
        pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
      };
      source.onmessage = function (event) {
        pause = FIRST_PAUSE_MS;
        render(JSON.parse(event.data));
        document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
      };
    }
    connect();
  }

  // Fetch JSON once and render it; a failure leaves what is shown.
  function fetchJson(url, render) {
    fetch(url, {credentials: "omit", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) render(data); })
      .catch(function () {});
  }

  // Re-fetch JSON every few seconds (times move on: talks start and end).
  function every(seconds, url, render) {
    window.setInterval(function () { fetchJson(url, render); }, seconds * 1000);
  }

  function talkLine(talk) {
    const who = talk.speakers && talk.speakers.length ? " · " + talk.speakers.join(", ") : "";
    return talk.start + "–" + talk.end + who;
  }

  return {el: el, link: link, clear: clear, initialData: initialData, subscribe: subscribe,
          fetchJson: fetchJson, every: every, talkLine: talkLine};
})();
