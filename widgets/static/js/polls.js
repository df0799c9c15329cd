// Poll results as bars, live over server-sent events. Secret polls show only the number of
// voters until they close.
"use strict";

(function () {
  const P = window.Podium;
  const events = document.querySelector("[data-events]").dataset.events;

  function poll(p) {
    const card = P.el("article", "poll" + (p.closed ? " closed" : ""));
    card.dataset.poll = p.id;
    const head = P.el("h2", "poll-question", p.question);
    card.appendChild(head);
    const state = p.closed ? "Final results" : p.results_hidden ? "Results are shown when the poll closes" : "Live results";
    card.appendChild(P.el("p", "muted state", state + " · " + p.voters + (p.voters === 1 ? " vote" : " votes")));
    const list = P.el("ol", "answers");
    p.answers.forEach(function (a) {
      const row = P.el("li", "answer");
      row.dataset.answer = a.id;
      const label = P.el("div", "answer-label");
      label.appendChild(P.el("span", "answer-text", a.text));
      if (a.count !== null) label.appendChild(P.el("span", "count", a.count + " · " + a.share + "%"));
      row.appendChild(label);
      if (a.count !== null) {
        const track = P.el("div", "bar-track");
        const bar = P.el("div", "bar");
        bar.style.width = a.share + "%";  // CSSOM, which the style policy allows
        bar.dataset.share = a.share;
        track.appendChild(bar);
        row.appendChild(track);
      }
      list.appendChild(row);
    });
    card.appendChild(list);
    return card;
  }

  function render(data) {
    const box = document.getElementById("polls");
    P.clear(box);
    data.polls.forEach(function (p) { box.appendChild(poll(p)); });
    document.getElementById("none").hidden = data.polls.length > 0;
  }

  render(P.initialData());
  P.subscribe(events, render);
})();
