// The now/next navigator: one card per track, links open the rooms in the Matrix client. The
// highlighted track (?track=, or the stream page's own) comes first, so it is in view in a
// short tile; the others follow in the list, which scrolls. The stream page shows the same
// list beside its player (Podium.nowNext).
"use strict";

(function () {
  const P = window.Podium;

  function slot(label, talk, fallback) {
    const row = P.el("div", "slot");
    row.appendChild(P.el("span", "label", label));
    if (talk) {
      row.appendChild(P.link(talk.link, talk.title, "title"));
      const detail = label === "Next" ? talk.when + (talk.speakers.length ? " · " + talk.speakers.join(", ") : "")
                                      : P.talkLine(talk);
      row.appendChild(P.el("span", "muted detail", detail));
      // The programme's own grouping (a devroom) is what attendees look for; speakers and
      // attendees alike see that the talk is not recorded.
      if (talk.category) row.appendChild(P.el("span", "category", talk.category));
      if (talk.do_not_record) row.appendChild(P.el("span", "badge not-recorded", "not recorded"));
    } else {
      row.appendChild(P.el("span", "muted", fallback));
    }
    return row;
  }

  function card(track, current) {
    const item = P.el("li", "nav-track" + (current ? " current" : ""));
    item.dataset.track = track.id;
    if (current) item.setAttribute("aria-current", "true");
    const head = P.el("div", "track-head");
    head.appendChild(P.link(track.link, track.name, "track-name"));
    if (track.delay_min) head.appendChild(P.el("span", "badge delay", (track.delay_min > 0 ? "+" : "") + track.delay_min + " min"));
    if (track.now) head.appendChild(P.el("span", "badge live", "live"));
    item.appendChild(head);
    item.appendChild(slot("Now", track.now, "Nothing on"));
    item.appendChild(slot("Next", track.next, "Nothing more"));
    return item;
  }

  // The open space's sessions on now and in the next booked slot, as one more card.
  function openSpace(sessions) {
    const item = P.el("li", "nav-track open-space");
    item.dataset.track = "open-space";
    const head = P.el("div", "track-head");
    head.appendChild(P.el("span", "track-name", "Open space"));
    if (sessions.now.length) head.appendChild(P.el("span", "badge live", "live"));
    item.appendChild(head);
    sessions.now.forEach(function (session) { item.appendChild(slot("Now", session)); });
    sessions.next.forEach(function (session) { item.appendChild(slot("Next", session)); });
    if (!sessions.now.length && !sessions.next.length) item.appendChild(slot("Now", null, "Nothing booked: !openspace"));
    return item;
  }

  function render(list, data) {
    const highlight = list.dataset.highlight;
    const clock = document.getElementById("clock");
    if (clock) clock.textContent = data.time;
    P.clear(list);
    const first = data.tracks.filter(function (t) { return t.id === highlight; });
    const rest = data.tracks.filter(function (t) { return t.id !== highlight; });
    first.concat(rest).forEach(function (track) { list.appendChild(card(track, track.id === highlight)); });
    if (data.open_space) list.appendChild(openSpace(data.open_space));
  }

  // Shows the navigator's data in `list` now and again every 30 seconds (delays change), and
  // a second after the next talk starts or ends (the server says when: `refresh_in`), so a talk
  // that has started shows as on at once; `then` also gets each payload.
  P.nowNext = function (list, data, then) {
    let timer = null;
    function show(fresh) {
      render(list, fresh);
      if (then) then(fresh);
      if (timer !== null) window.clearTimeout(timer);
      timer = fresh.refresh_in == null ? null : window.setTimeout(function () {
        P.fetchJson("/api/now-next", show);
      }, Math.min(fresh.refresh_in + 1, 3600) * 1000);
    }
    show(data);
    P.every(30, "/api/now-next", show);
  };

  const list = document.getElementById("tracks");
  if (list && list.dataset.start === "now-next") P.nowNext(list, P.initialData());
})();
