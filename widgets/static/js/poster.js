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
  try {
    const current = await doc.getPage(page);
    const box = viewer.getBoundingClientRect();
    const natural = current.getViewport({scale: 1});
    const fit = Math.max(0.05, Math.min(box.width / natural.width, box.height / natural.height));
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
  await draw();
  // The tile is resized with the room view: fit the page again.
  let timer = null;
  new ResizeObserver(function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(draw, 100);
  }).observe(viewer);
}

open();
