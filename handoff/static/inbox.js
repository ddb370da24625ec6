// Live updates for the web inbox: the server says «change», the page refetches its live part.
// The reply box sits outside that part, so what an operator is typing is never lost.
(() => {
  "use strict";
  const live = document.getElementById("live");
  // the newest messages matter most: keep the transcript scrolled to its end
  const toEnd = () => live && live.querySelectorAll(".transcript").forEach((list) => { list.scrollTop = list.scrollHeight; });
  toEnd();
  if (!live || !window.EventSource) return;
  let busy = false;
  let again = false;

  // a recording an operator is listening to goes on playing when the page updates around it
  function keepPlaying(fresh) {
    for (const player of live.querySelectorAll("audio[data-media], video[data-media]")) {
      if (player.paused) continue;
      const twin = fresh.querySelector(`[data-media="${CSS.escape(player.dataset.media)}"]`);
      if (twin) twin.replaceWith(player);
    }
  }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const url = new URL(window.location.href);
      url.searchParams.set("fragment", "1");
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected || !response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("live");
      if (fresh) { keepPlaying(fresh); live.replaceChildren(...fresh.childNodes); toEnd(); }
    } catch (error) {
      // the next change or the next page load shows the current state
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  const events = new EventSource("/inbox/events");
  events.addEventListener("change", refresh);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();
