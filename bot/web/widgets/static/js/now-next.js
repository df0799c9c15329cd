// The now/next navigator: one card per track, links open the rooms in the Matrix client.
"use strict";

(function () {
  const P = window.Podium;
  const list = document.getElementById("tracks");
  const highlight = list.dataset.highlight;

  function slot(label, talk, fallback) {
    const row = P.el("div", "slot");
    row.appendChild(P.el("span", "label", label));
    if (talk) {
      row.appendChild(P.link(talk.link, talk.title, "title"));
      const detail = label === "Next" ? talk.when + (talk.speakers.length ? " · " + talk.speakers.join(", ") : "")
                                      : P.talkLine(talk);
      row.appendChild(P.el("span", "muted detail", detail));
    } else {
      row.appendChild(P.el("span", "muted", fallback));
    }
    return row;
  }

  function render(data) {
    document.getElementById("clock").textContent = data.time;
    P.clear(list);
    data.tracks.forEach(function (track) {
      const item = P.el("li", "nav-track" + (track.id === highlight ? " current" : ""));
      item.dataset.track = track.id;
      if (track.id === highlight) item.setAttribute("aria-current", "true");
      const head = P.el("div", "track-head");
      head.appendChild(P.link(track.link, track.name, "track-name"));
      if (track.delay_min) head.appendChild(P.el("span", "badge delay", (track.delay_min > 0 ? "+" : "") + track.delay_min + " min"));
      if (track.now) head.appendChild(P.el("span", "badge live", "live"));
      item.appendChild(head);
      item.appendChild(slot("Now", track.now, "Nothing on"));
      item.appendChild(slot("Next", track.next, "Nothing more"));
      list.appendChild(item);
    });
  }

  render(P.initialData());
  P.every(30, "/api/now-next", render);
})();
