// The Q&A board: the current talk's questions, ranked, kept up to date over server-sent events.
"use strict";

(function () {
  const P = window.Podium;
  const events = document.querySelector("[data-events]").dataset.events;

  function question(q) {
    const item = P.el("li", "question" + (q.pinned ? " pinned" : "") + (q.answered ? " answered" : ""));
    item.dataset.number = q.number;
    item.appendChild(P.el("span", "votes", q.votes));
    const body = P.el("div", "body");
    body.appendChild(P.el("p", "text", q.text));
    const meta = P.el("p", "meta");
    meta.appendChild(P.el("span", "asker", q.name));
    meta.appendChild(P.el("span", "number", "#" + q.number));
    if (q.pinned) meta.appendChild(P.el("span", "badge pinned", "pinned"));
    if (q.answered) meta.appendChild(P.el("span", "badge answered", "answered"));
    body.appendChild(meta);
    item.appendChild(body);
    return item;
  }

  function render(data) {
    document.getElementById("talk-title").textContent = data.talk ? data.talk.title : "between talks";
    document.getElementById("talk-speakers").textContent = data.talk ? data.talk.speakers.join(", ") : "";
    const open = document.getElementById("open");
    const answered = document.getElementById("answered");
    P.clear(open);
    P.clear(answered);
    data.open.forEach(function (q) { open.appendChild(question(q)); });
    data.answered.forEach(function (q) { answered.appendChild(question(q)); });
    const empty = data.open.length + data.answered.length === 0;
    // Invite questions only while !ask takes them: a closed Q&A says so instead.
    document.getElementById("none").hidden = !(empty && data.asking);
    document.getElementById("closed").hidden = !(empty && !data.asking);
    document.getElementById("answered-section").hidden = data.answered.length === 0;
  }

  render(P.initialData());
  P.subscribe(events, render);
})();
