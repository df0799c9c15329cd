// The stream page's questions: the talk's top questions beside the player, live over the Q&A
// board's event stream, and how to ask (or that Q&A is closed).
"use strict";

(function () {
  const P = window.Podium;
  const section = document.querySelector(".stream-questions");
  const SHOWN = 3;

  function render(data) {
    const list = document.getElementById("top-questions");
    P.clear(list);
    data.open.slice(0, SHOWN).forEach(function (q) {
      const item = P.el("li", "question" + (q.pinned ? " pinned" : ""));
      item.appendChild(P.el("span", "votes", q.votes));
      item.appendChild(P.el("p", "text", q.text));
      list.appendChild(item);
    });
    const more = data.open.length - SHOWN;
    document.getElementById("questions-hint").textContent =
      (more > 0 ? more + " more · " : "") +
      (data.asking ? "Ask in this room with !ask <question>; upvote with a thumbs-up."
                   : data.open.length ? "Q&A is not taking new questions now." : "Q&A is not taking questions now.");
  }

  render(P.initialData().questions);
  P.subscribe(section.dataset.events, render);
})();
