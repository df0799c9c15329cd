// The widget side of the Matrix widget API (matrix-widget-api's postMessage protocol), as far as
// a Podium page needs it: it asks for no capabilities, but Element's widget messaging expects
// every widget to take part in the handshake. Element sends "toWidget" requests and waits for an
// answer to each; a page that stays silent leaves Element's messaging for it half set up (it
// gives up on the "capabilities" request after 10 s), and a widget whose state event says
// waitForIframeLoad: false is shown as "Loading…" until the page sends "content_loaded".
// Outside a client (no widgetId in the URL) this does nothing.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const widgetId = params.get("widgetId");
  if (!widgetId || window.parent === window) return;

  // Only the embedding client may talk to the page. Element names its address in parentUrl;
  // without it, the parent window is still the only accepted sender.
  let clientOrigin = null;
  try {
    clientOrigin = params.get("parentUrl") ? new URL(params.get("parentUrl")).origin : null;
  } catch (e) {
    clientOrigin = null;
  }

  // How long after the page has loaded to wait for the client's "capabilities" request (sent
  // at once when the client waits for the iframe's load event) before telling it the content
  // has loaded; and how often to tell it again while it has not answered.
  const CAPABILITIES_GRACE_MS = 500;
  const RETRY_MS = 2000;
  const ATTEMPTS = 5;

  let handshakeStarted = false;
  let contentLoadedAnswered = false;
  let requestCount = 0;

  function post(message, origin) {
    window.parent.postMessage(message, origin || clientOrigin || "*");
  }

  // Answers to the client's requests: no capabilities asked for; notifications acknowledged;
  // what the page cannot do (screenshots and the like) refused with an error, as the API wants.
  const ACKNOWLEDGED = ["notify_capabilities", "theme_change", "language_change", "visibility", "send_event",
                        "send_to_device", "update_turn_servers", "update_state"];

  function answer(action) {
    if (action === "capabilities") return { capabilities: [] };
    if (ACKNOWLEDGED.indexOf(action) >= 0) return {};
    return { error: { message: "Podium's widget pages do not support " + action } };
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) return;
    if (clientOrigin && event.origin !== clientOrigin) return;
    const message = event.data;
    if (!message || typeof message !== "object" || message.widgetId !== widgetId) return;
    if (typeof message.action !== "string" || !message.requestId) return;
    if (message.api === "toWidget" && !message.response) {
      handshakeStarted = true;
      post(Object.assign({}, message, { response: answer(message.action) }), event.origin);
    } else if (message.api === "fromWidget" && message.response && message.action === "content_loaded") {
      contentLoadedAnswered = true; // an error answer too: the client heard it
    }
  });

  function sendContentLoaded(attempt) {
    if (handshakeStarted || contentLoadedAnswered || attempt >= ATTEMPTS) return;
    requestCount += 1;
    post({ api: "fromWidget", widgetId: widgetId, requestId: "podium-" + requestCount,
           action: "content_loaded", data: {} });
    window.setTimeout(function () { sendContentLoaded(attempt + 1); }, RETRY_MS);
  }

  function loaded() {
    window.setTimeout(function () { sendContentLoaded(0); }, CAPABILITIES_GRACE_MS);
  }

  if (document.readyState === "complete") loaded();
  else window.addEventListener("load", loaded);
})();
