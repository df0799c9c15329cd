// The stream widget: the player while a talk is on, a clear offline notice otherwise, and the
// track's now and next beside it (the navigator's list, see now-next.js).
"use strict";

(function () {
  const P = window.Podium;
  const area = document.querySelector(".player-area");
  const trackId = area.dataset.track;
  const kind = area.dataset.kind;
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

  function showPlayer(track) {
    if (track.now && kind) {
      startPlayer();
    } else if (!started) {
      offline.hidden = false;
      document.getElementById("offline-detail").textContent = !kind ? "This track has no stream: it happens in the room."
        : track.next ? "Starts at " + track.next.when + ": " + track.next.title
        : "No more talks scheduled in this track.";
    }
  }

  const button = document.getElementById("watch-anyway");
  if (button) button.addEventListener("click", startPlayer);
  P.nowNext(document.getElementById("tracks"), P.initialData(), function (data) {
    const track = data.tracks.find(function (t) { return t.id === trackId; });
    if (track) showPlayer(track);
  });
})();
