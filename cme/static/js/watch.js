// Reports viewing time while the page is visible: one report a minute. The server counts at most the
// wall time between two reports, so parallel tabs or forged reports cannot add minutes.
(function () {
  const box = document.getElementById("watch");
  if (!box) return;
  const url = box.dataset.heartbeatUrl;
  const token = box.dataset.csrfToken;
  const interval = Number(box.dataset.interval || 60) * 1000;
  const minutes = document.getElementById("minutes-watched");
  let timer = null;

  function report() {
    if (document.visibilityState !== "visible") return;
    fetch(url, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((data) => { if (minutes && data.minutes !== undefined) minutes.textContent = data.minutes; })
      .catch(() => {});
  }

  function start() {
    if (timer === null) { report(); timer = setInterval(report, interval); }
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  document.addEventListener("visibilitychange", () => (document.visibilityState === "visible" ? start() : stop()));
  if (document.visibilityState === "visible") start();
})();
