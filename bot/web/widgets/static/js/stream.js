// The stream widget: the player while a talk is on, a clear offline notice otherwise.
"use strict";

(function () {
  const P = window.Podium;
  const stream = P.initialData();
  const player = document.getElementById("player");
  const offline = document.getElementById("offline");
  let started = false;

  function startPlayer() {
    if (!player || started) return;
    started = true;
    player.hidden = false;
    offline.hidden = true;
    if (player.tagName === "IFRAME") {
      player.src = player.dataset.src;
    } else if (window.Hls && window.Hls.isSupported()) {
      // hls.js wherever Media Source Extensions exist, so every browser behaves alike; no
      // worker, because the page's policy allows scripts from this server only.
      const hls = new window.Hls({enableWorker: false});
      hls.loadSource(player.dataset.hls);
      hls.attachMedia(player);
    } else {
      player.src = player.dataset.hls;  // browsers that play HLS natively (iOS Safari)
    }
  }

  function setText(id, text) { document.getElementById(id).textContent = text || ""; }

  function render(track) {
    setText("now-title", track.now ? track.now.title : "Nothing on");
    setText("now-detail", track.now ? P.talkLine(track.now) : "");
    setText("next-title", track.next ? track.next.title : "Nothing more today");
    setText("next-detail", track.next ? track.next.when + (track.next.speakers.length ? " · " + track.next.speakers.join(", ") : "") : "");
    if (track.now && stream.stream_kind) {
      startPlayer();
    } else if (!started) {
      offline.hidden = false;
      const detail = !stream.stream_kind ? "This track has no stream: it happens in the room."
        : track.next ? "Starts at " + track.next.when + ": " + track.next.title
        : "No more talks scheduled in this track.";
      setText("offline-detail", detail);
    }
  }

  const button = document.getElementById("watch-anyway");
  if (button) button.addEventListener("click", startPlayer);
  render(stream);
  P.every(30, "/api/now-next", function (data) {
    const track = data.tracks.find(function (t) { return t.id === stream.id; });
    if (track) render(track);
  });
})();
