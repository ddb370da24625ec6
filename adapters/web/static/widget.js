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

    let frame = null; // created on first open, then kept so the conversation stays connected

    function focusFrame() {
      if (!frame || panel.hidden) return;
      frame.focus();
      // The chat page puts the caret into its input when asked; dropped until it has loaded.
      try { frame.contentWindow.postMessage({ type: 'okno:focus' }, ORIGIN); } catch { /* not loaded */ }
    }

    function open() {
      if (!frame) {
        frame = document.createElement('iframe');
        frame.src = CHAT_URL;
        frame.title = 'Чат поддержки — Окно';
        frame.allow = 'microphone'; // voice messages are recorded inside the frame
        frame.addEventListener('load', focusFrame);
        panel.append(frame);
      }
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      focusFrame();
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
