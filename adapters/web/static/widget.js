// Okno chat widget for portal pages: <script src="https://okno.example/chat/widget.js" defer></script>
// Everything lives in a shadow root so the portal's CSS and ours never meet.
(() => {
  'use strict';
  if (window.oknoWidget) return; // the tag was included twice

  // Our origin comes from our own URL, not from the portal page.
  const script = document.currentScript ||
    Array.from(document.scripts).find((s) => /\/chat\/widget\.js([?#]|$)/.test(s.src));
  if (!script || !script.src) return;
  const ORIGIN = new URL(script.src, location.href).origin;
  const CHAT_URL = `${ORIGIN}/chat?embed=1`;
  const T = {
    asking: 'Подключение к чату…',
    away: 'Чат недоступен на этом сайте.',
    elsewhere: 'Откройте чат на нашей странице или свяжитесь с нами другим способом:',
    page: 'Открыть чат в новой вкладке',
    failed: 'Не удалось связаться с чатом. Проверьте подключение к интернету и откройте чат ещё раз.',
  };

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .launcher, .panel {
      position: fixed;
      z-index: 2147483000;
      font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
    }
    .launcher {
      right: 20px; bottom: 20px;
      width: 60px; height: 60px;
      border-radius: 50%;
      border: 2px solid #fff;
      background: #0b5cad;
      color: #fff;
      font-size: 15px; font-weight: 600; line-height: 1;
      cursor: pointer;
      box-shadow: 0 4px 14px rgba(0, 0, 0, .3);
    }
    .launcher:hover { background: #084785; }
    /* A two-colour ring stays visible on light and dark portal pages. */
    .launcher:focus-visible {
      outline: 3px solid #1b1f24;
      outline-offset: 2px;
      box-shadow: 0 0 0 2px #fff;
    }
    .panel {
      right: 20px; bottom: 92px;
      width: 380px; height: 560px;
      max-width: calc(100vw - 40px);
      max-height: calc(100vh - 112px);
      display: flex; flex-direction: column;
      background: #fff;
      border-radius: 14px;
      overflow: hidden;
      box-shadow: 0 8px 30px rgba(0, 0, 0, .3);
    }
    .panel[hidden] { display: none; }
    .bar {
      flex: none;
      display: flex; align-items: center; justify-content: space-between;
      gap: 8px;
      padding: 6px 6px 6px 16px;
      background: #0b5cad; color: #fff;
      font-size: 16px; font-weight: 600;
    }
    .close {
      width: 44px; height: 44px;
      border: 0; border-radius: 8px;
      background: transparent; color: #fff;
      font-size: 26px; line-height: 1;
      cursor: pointer;
    }
    .close:hover { background: #084785; }
    .close:focus-visible { outline: 3px solid #fff; outline-offset: -5px; }
    iframe { flex: 1 1 auto; width: 100%; border: 0; display: block; background: #eef1f5; }
    .away {
      flex: 1 1 auto;
      overflow: auto;
      padding: 16px;
      background: #fff; color: #1b1f24;
      font-size: 16px; line-height: 1.45;
      overflow-wrap: anywhere;
    }
    .away:focus { outline: none; }
    .away p { margin: 0 0 12px; }
    .away .lead { font-weight: 600; }
    .away ul { margin: 0; padding-left: 20px; }
    .away li { margin: 0 0 8px; }
    .away a { color: #084785; text-decoration: underline; }
    .away a:focus-visible { outline: 3px solid #1b1f24; outline-offset: 2px; }
    .nowrap { white-space: nowrap; }
    /* Narrow phones: the chat takes the whole screen. */
    @media (max-width: 480px), (max-height: 500px) {
      .panel {
        inset: 0;
        width: 100%; height: 100%;
        max-width: none; max-height: none;
        border-radius: 0;
      }
    }
  `;

  function mount() {
    // A custom tag name: portal rules like "body > div" will not hit it.
    const host = document.createElement('okno-chat-widget');
    const root = host.attachShadow({ mode: 'open' });

    const style = document.createElement('style');
    style.textContent = CSS;

    const launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.className = 'launcher';
    launcher.textContent = 'Чат';
    launcher.setAttribute('aria-label', 'Открыть чат поддержки');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'okno-panel');

    const panel = document.createElement('div');
    panel.className = 'panel';
    panel.id = 'okno-panel';
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', 'Чат поддержки');

    const bar = document.createElement('div');
    bar.className = 'bar';
    const title = document.createElement('span');
    title.textContent = 'Окно · чат поддержки';
    const closeBtn = document.createElement('button');
    closeBtn.type = 'button';
    closeBtn.className = 'close';
    closeBtn.textContent = '×';
    closeBtn.setAttribute('aria-label', 'Закрыть чат');
    closeBtn.title = 'Закрыть чат';
    bar.append(title, closeBtn);
    panel.append(bar);

    let frame = null; // created once the server allows this site, then kept so the chat stays connected
    let away = null; // what is shown instead of the frame: a wait, or why there is no chat here
    let asked = null; // the server's answer for this page, asked on the first open

    // Is this page (and every page framing it) among the sites that may frame the chat?
    // The browser would refuse the frame otherwise (CSP frame-ancestors): ask before making it.
    function ask() {
      const ancestors = Array.from(location.ancestorOrigins || []).filter((o) => o !== ORIGIN);
      if (location.origin === ORIGIN && !ancestors.length) return Promise.resolve({ allowed: true });
      const url = new URL('/chat/embed', ORIGIN);
      if (ancestors.length) url.searchParams.set('ancestors', ancestors.join(' '));
      return fetch(url.href, { mode: 'cors', credentials: 'omit', cache: 'no-cache' }).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.json();
      });
    }

    function el(tag, cls, text) {
      const n = document.createElement(tag);
      if (cls) n.className = cls;
      if (text != null) n.textContent = text;
      return n;
    }

    // Only these may become a link: the answer is data, never markup.
    function safeHref(href) {
      try {
        const u = new URL(String(href), ORIGIN);
        return ['https:', 'http:', 'tel:', 'mailto:'].includes(u.protocol) ? u.href : null;
      } catch { return null; }
    }

    function link(href, text, cls) {
      const a = el('a', cls, text);
      a.href = href;
      if (/^https?:/.test(href)) Object.assign(a, { target: '_blank', rel: 'noopener noreferrer' });
      return a;
    }

    function showAway(lines, ways) {
      if (away) away.remove();
      away = el('div', 'away');
      away.tabIndex = -1;
      away.setAttribute('role', 'status');
      lines.forEach((text, i) => away.append(el('p', i ? '' : 'lead', text)));
      if (ways.length) {
        const list = away.appendChild(el('ul'));
        for (const way of ways) list.appendChild(el('li')).append(...way);
      }
      panel.append(away);
    }

    // Not allowed here: the chat's own page and the deployment's other ways, as the server lists them.
    function refused(answer) {
      const ways = [];
      const page = typeof answer.chat === 'string' && answer.chat.startsWith('/') ? safeHref(answer.chat) : null;
      if (page) ways.push([link(page, T.page)]);
      for (const c of Array.isArray(answer.contacts) ? answer.contacts : []) {
        const href = c && safeHref(c.href);
        if (href) ways.push([`${c.label}: `, link(href, String(c.text), 'nowrap')]);
      }
      showAway([T.away, T.elsewhere], ways);
    }

    function showFrame() {
      if (away) { away.remove(); away = null; }
      frame = document.createElement('iframe');
      frame.src = CHAT_URL;
      frame.title = 'Чат поддержки — Окно';
      frame.allow = 'microphone'; // voice messages are recorded inside the frame
      frame.addEventListener('load', focusBody);
      panel.append(frame);
    }

    function start() {
      showAway([T.asking], []);
      asked = ask().then(
        (answer) => { if (answer && answer.allowed) showFrame(); else refused(answer || {}); },
        () => { showAway([T.failed], []); asked = null; }, // the next open asks again
      ).then(focusBody);
    }

    function focusBody() {
      if (panel.hidden) return;
      if (!frame) { if (away) away.focus(); return; }
      frame.focus();
      // The chat page puts the caret into its input when asked; dropped until it has loaded.
      try { frame.contentWindow.postMessage({ type: 'okno:focus' }, ORIGIN); } catch { /* not loaded */ }
    }

    function open() {
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      if (!frame && !asked) start();
      focusBody();
    }

    function close() {
      if (panel.hidden) return;
      panel.hidden = true;
      launcher.setAttribute('aria-expanded', 'false');
      launcher.focus();
    }

    launcher.addEventListener('click', () => (panel.hidden ? open() : close()));
    closeBtn.addEventListener('click', close);
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !panel.hidden) { e.stopPropagation(); close(); }
    });
    // Esc pressed inside the iframe arrives as a message from the chat page.
    window.addEventListener('message', (e) => {
      if (frame && e.source === frame.contentWindow && e.origin === ORIGIN &&
          e.data && e.data.type === 'okno:close') close();
    });

    root.append(style, launcher, panel);
    document.body.appendChild(host);
    window.oknoWidget = { open, close };
  }

  window.oknoWidget = {}; // claimed now, so a second copy of the tag stops early
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
