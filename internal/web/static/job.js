// Live updates for the job page: new log output and status changes
// arrive over one server-sent event stream. Without this script the page
// refreshes itself while the job runs.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job || job.dataset.live !== "true" || !window.EventSource) return;
  var icons = { success: "✓", failed: "✗", timeout: "✗", cancelled: "⊘", running: "●", skipped: "–" };
  function icon(s) { return icons[s] || "○"; }
  function setStatus(el, s) {
    if (!el) return;
    el.className = "status s-" + s;
    el.textContent = icon(s) + " " + s;
  }
  function logBlock(key) { return document.getElementById("log-" + key); }
  function offsets() {
    var q = [];
    job.querySelectorAll(".log-block").forEach(function (b) {
      var key = b.dataset.log, pre = b.querySelector("pre.log");
      var name = key === "setup" ? "setup" : "t." + key;
      q.push(encodeURIComponent(name) + "=" + (pre.dataset.offset || 0));
    });
    return q.join("&");
  }
  // Follow the end of a log only when the reader is already there.
  function atBottom(pre) { return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40; }
  function windowAtBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40;
  }
  function onLog(ev) {
    var d = JSON.parse(ev.data), b = logBlock(d.log);
    if (!b) return;
    var pre = b.querySelector("pre.log"), partial = pre.querySelector(".partial");
    var stick = atBottom(pre), stickWin = windowAtBottom();
    if (d.html) partial.insertAdjacentHTML("beforebegin", d.html);
    partial.innerHTML = d.partial;
    pre.dataset.offset = d.offset;
    var none = b.querySelector(".nolog");
    if (pre.textContent) {
      pre.classList.remove("none");
      if (none) none.remove();
    }
    if (stick) pre.scrollTop = pre.scrollHeight;
    if (stickWin) window.scrollTo(0, document.documentElement.scrollHeight);
  }
  // The job's duration ticks while it runs.
  var dur = document.getElementById("job-duration");
  function fmtDur(ms) {
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + "h" : "") + (h || m ? m + "m" : "") + (s % 60) + "s";
  }
  setInterval(function () {
    if (dur && dur.dataset.since) dur.textContent = fmtDur(Date.now() - Date.parse(dur.dataset.since));
  }, 1000);
  function onStatus(ev) {
    var st = JSON.parse(ev.data);
    setStatus(document.getElementById("job-status"), st.status);
    var runner = document.getElementById("job-runner");
    if (runner) runner.textContent = st.runner || "–";
    st.tasks.forEach(function (t) {
      var li = document.getElementById("task-" + t.name);
      if (li) { li.className = "s-" + t.status; setStatus(li.querySelector(".status"), t.status); }
      var b = logBlock(t.name);
      if (b) setStatus(b.querySelector("[data-task-status]"), t.status);
    });
    if (dur) {
      dur.dataset.since = st.since || "";
      if (st.duration) dur.textContent = st.duration;
    }
    if (st.status !== "running" && st.status !== "queued" && st.status !== "pending") {
      var cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
    }
    document.title = document.title.replace(/^[^#]*#/, icon(st.status) + " #");
  }
  var es;
  function connect() {
    es = new EventSource(job.dataset.events + "?" + offsets());
    es.addEventListener("log", onLog);
    es.addEventListener("status", onStatus);
    es.addEventListener("end", function (ev) {
      if (ev.data) onStatus(ev);
      es.close();
      job.dataset.live = "false";
    });
    es.onerror = function () {
      // Reconnect from where the page is, not from where it started.
      es.close();
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
