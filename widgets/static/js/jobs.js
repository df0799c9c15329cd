// Job openings kept current over server-sent events: the booth page's list of one sponsor's jobs,
// or the jobs room's board of every sponsor's. A job posted with !job shows without a reload.
"use strict";

(function () {
  const P = window.Podium;
  const holder = document.querySelector("[data-events]");

  function item(job) {
    const li = P.el("li");
    li.appendChild(job.url ? P.link(job.url, job.title) : P.el("span", null, job.title));
    return li;
  }

  function booth(data) {
    const jobs = data.sponsors.length ? data.sponsors[0].jobs : [];
    const list = document.getElementById("job-list");
    P.clear(list);
    jobs.forEach(function (job) { list.appendChild(item(job)); });
    holder.hidden = jobs.length === 0;
    const spacer = document.querySelector(".spacer");
    if (spacer) spacer.hidden = jobs.length > 0;
    const more = document.querySelector(".jobs-room");
    if (more) more.hidden = jobs.length === 0;
  }

  function board(data) {
    const place = document.getElementById("job-board");
    P.clear(place);
    const hiring = data.sponsors.filter(function (s) { return s.jobs.length > 0; });
    hiring.forEach(function (sponsor) {
      const section = P.el("section", "jobs");
      const heading = P.el("h2", null, sponsor.name);
      if (sponsor.level) { heading.appendChild(document.createTextNode(" ")); heading.appendChild(P.el("span", "badge level", sponsor.level)); }
      section.appendChild(heading);
      const list = P.el("ul");
      sponsor.jobs.forEach(function (job) { list.appendChild(item(job)); });
      section.appendChild(list);
      place.appendChild(section);
    });
    document.getElementById("no-jobs").hidden = hiring.length > 0;
  }

  const render = holder.dataset.mode === "board" ? board : booth;
  render(P.initialData());
  P.subscribe(holder.dataset.events, render);
})();
