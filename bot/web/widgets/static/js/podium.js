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

  // Server-sent events: call render with each JSON payload; EventSource reconnects by itself.
  function subscribe(url, render) {
    const status = document.getElementById("status");
    const source = new EventSource(url);
    source.onopen = function () {
      if (status) { status.textContent = "● live"; status.className = "status live"; }
    };
    source.onerror = function () {
      if (status) { status.textContent = "reconnecting…"; status.className = "status down"; }
    };
    source.onmessage = function (event) {
      render(JSON.parse(event.data));
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    };
    return source;
  }

  // Re-fetch JSON every few seconds (times move on: talks start and end).
  function every(seconds, url, render) {
    window.setInterval(function () {
      fetch(url, {credentials: "omit", cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) render(data); })
        .catch(function () {});
    }, seconds * 1000);
  }

  function talkLine(talk) {
    const who = talk.speakers && talk.speakers.length ? " · " + talk.speakers.join(", ") : "";
    return talk.start + "–" + talk.end + who;
  }

  return {el: el, link: link, clear: clear, initialData: initialData, subscribe: subscribe,
          every: every, talkLine: talkLine};
})();
