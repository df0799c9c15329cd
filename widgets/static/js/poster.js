// The poster widget: pdf.js draws the poster's pages, one at a time, fitted to the tile, into a
// canvas (browsers show a PDF in an <object> only where their own viewer runs, which it often
// does not in an iframe or a headless browser). The PDF comes from this server (/posters/...).
import * as pdfjs from "/static/vendor/pdfjs/pdf.min.mjs";

const viewer = document.getElementById("viewer");
const canvas = document.getElementById("poster-page");
const pager = document.getElementById("pager");
const back = document.getElementById("page-back");
const forward = document.getElementById("page-forward");
const number = document.getElementById("page-number");
let doc = null, page = 1, busy = false, again = false, task = null;
// 1 fits the whole page in the tile; more enlarges it that many times, and the viewer scrolls.
let zoom = 1;
const ZOOM_MAX = 8;

pdfjs.GlobalWorkerOptions.workerSrc = viewer.dataset.worker;

function fail(reason) {
  document.getElementById("loading").hidden = true;
  canvas.hidden = true;
  document.getElementById("fallback-reason").textContent = reason;
  document.getElementById("fallback").hidden = false;
  document.body.dataset.poster = "failed";
}

// Draws the current page to fit the viewer. A call while one is drawing cancels it and draws
// again once it has stopped (resizing the tile calls this many times in a row).
async function draw() {
  if (busy) {
    again = true;
    if (task) task.cancel();
    return;
  }
  busy = true;
  const drawnZoom = zoom;
  try {
    const current = await doc.getPage(page);
    const box = viewer.getBoundingClientRect();
    const natural = current.getViewport({scale: 1});
    const fit = Math.max(0.05, Math.min(box.width / natural.width, box.height / natural.height)) * zoom;
    const ratio = window.devicePixelRatio || 1;
    const viewport = current.getViewport({scale: fit * ratio});
    // Drawn aside, then copied in at once: resizing the tile redraws the page, and the canvas
    // shown must not go blank while pdf.js works (a canvas is cleared when it is resized).
    const drawing = document.createElement("canvas");
    drawing.width = Math.floor(viewport.width);
    drawing.height = Math.floor(viewport.height);
    task = current.render({canvas: drawing, viewport: viewport});
    await task.promise;
    canvas.width = drawing.width;
    canvas.height = drawing.height;
    canvas.getContext("2d").drawImage(drawing, 0, 0);
    canvas.style.width = Math.floor(viewport.width / ratio) + "px";  // CSSOM, which the style policy allows
    canvas.style.height = Math.floor(viewport.height / ratio) + "px";
    document.getElementById("loading").hidden = true;
    canvas.hidden = false;
    canvas.setAttribute("aria-label", "Poster, page " + page + " of " + doc.numPages);
    document.body.dataset.poster = "shown";
    document.body.dataset.page = String(page);
    document.body.dataset.zoom = String(drawnZoom);
  } catch (e) {
    if (!(e instanceof pdfjs.RenderingCancelledException)) fail("The poster could not be drawn here.");
  } finally {
    task = null;
    busy = false;
  }
  if (again) {
    again = false;
    draw();
  }
}

// Zoom to `to` keeping the poster point under (x, y) of the viewer where it was (the middle by
// default), so a click enlarges what was clicked.
async function zoomTo(to, x, y) {
  to = Math.min(ZOOM_MAX, Math.max(1, to));
  if (to === zoom) return;
  const box = viewer.getBoundingClientRect();
  const px = x === undefined ? box.width / 2 : x, py = y === undefined ? box.height / 2 : y;
  const spot = canvas.getBoundingClientRect();
  const fx = (box.left + px - spot.left) / spot.width, fy = (box.top + py - spot.top) / spot.height;
  zoom = to;
  viewer.classList.toggle("zoomed", zoom > 1);
  await drawn();
  const now = canvas.getBoundingClientRect();
  viewer.scrollLeft += now.left + fx * now.width - (box.left + px);
  viewer.scrollTop += now.top + fy * now.height - (box.top + py);
}

// Draws at the current zoom and returns once the canvas shows it (after any drawing under way).
async function drawn() {
  while (busy) await new Promise(function (done) { window.setTimeout(done, 20); });
  await draw();
  while (busy) await new Promise(function (done) { window.setTimeout(done, 20); });
}

function turn(by) {
  const to = Math.min(doc.numPages, Math.max(1, page + by));
  if (to === page) return;
  page = to;
  showPage();
  draw();
}

function showPage() {
  number.textContent = page + " / " + doc.numPages;
  back.disabled = page === 1;
  forward.disabled = page === doc.numPages;
}

async function open() {
  document.getElementById("loading").hidden = false;
  try {
    // No WebAssembly (the page's policy allows none): pdf.js decodes with its JavaScript code.
    doc = await pdfjs.getDocument({url: viewer.dataset.pdf, useWasm: false, enableXfa: false}).promise;
  } catch (e) {
    fail("The poster could not be loaded here.");
    return;
  }
  document.body.dataset.pages = String(doc.numPages);
  if (doc.numPages > 1) {
    pager.hidden = false;
    showPage();
    back.addEventListener("click", function () { turn(-1); });
    forward.addEventListener("click", function () { turn(1); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "ArrowRight" || event.key === "PageDown") turn(1);
      if (event.key === "ArrowLeft" || event.key === "PageUp") turn(-1);
    });
  }
  document.getElementById("zoom").hidden = false;
  document.getElementById("zoom-in").addEventListener("click", function () { zoomTo(zoom * 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomTo(zoom / 2); });
  document.getElementById("zoom-fit").addEventListener("click", function () { zoomTo(1); });
  canvas.addEventListener("click", function (event) {
    const box = viewer.getBoundingClientRect();
    zoomTo(zoom >= ZOOM_MAX ? 1 : zoom * 2, event.clientX - box.left, event.clientY - box.top);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "+" || event.key === "=") zoomTo(zoom * 2);
    if (event.key === "-") zoomTo(zoom / 2);
    if (event.key === "0") zoomTo(1);
  });
  await draw();
  // The tile is resized with the room view: fit the page again.
  let timer = null;
  new ResizeObserver(function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(draw, 100);
  }).observe(viewer);
}

open();
