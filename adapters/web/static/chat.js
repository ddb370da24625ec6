// Okno citizen web chat: plain ES2020, no dependencies.
// All server/citizen text goes through textContent / text nodes, never innerHTML.
(() => {
  'use strict';

  const MAX_LEN = 2000;
  const WARN_LEN = 1800;
  const MAX_FILE = 2 * 1024 * 1024;
  const MAX_VOICE_SECONDS = 180; // the server refuses longer recordings
  const MIN_VOICE_MS = 700; // shorter is a slip of the finger, not a message
  // what the server takes: Opus, in WebM (Chromium) or Ogg (Firefox)
  const VOICE_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/ogg'];
  const VISITOR_KEY = 'okno.visitor';
  const PENDING_KEY = 'okno.pending';
  const BURST = 5; // frames at once, then RATE a second: a little under the server's limit
  const RATE = 0.9;
  const SCROLL_SLACK = 120; // px: further up than this means the user is reading history
  const T = {
    connecting: 'Подключение…',
    lost: 'Нет связи. Переподключаемся…',
    tooBig: 'Файл больше 2 МБ — такой файл не принять. Сожмите его или отправьте другой.',
    uploading: 'Отправляем файл…',
    uploadFailed: 'Не удалось отправить файл. Попробуйте ещё раз.',
    uploadOffline: 'Не удалось отправить файл: нет связи. Попробуйте ещё раз, когда связь появится.',
    notReady: 'Чат ещё подключается. Отправьте файл через несколько секунд.',
    ended: 'Чат завершён. Переписка на этом устройстве больше не показывается. Можно начать новый чат.',
    uploadingVoice: 'Отправляем голосовое сообщение…',
    micUnsupported: 'Этот браузер не умеет записывать голос. Напишите сообщение текстом или откройте чат в другом браузере.',
    micDenied: 'Нет доступа к микрофону. Разрешите его для этого сайта в настройках браузера и нажмите на микрофон ещё раз — или напишите текстом.',
    micMissing: 'Микрофон не найден. Подключите его или напишите сообщение текстом.',
    micBusy: 'Микрофон сейчас занят другой программой. Закройте её и попробуйте ещё раз — или напишите текстом.',
    micFailed: 'Запись прервалась. Попробуйте ещё раз или напишите сообщение текстом.',
    tooShort: 'Запись слишком короткая. Нажмите на микрофон, скажите сообщение и нажмите ещё раз, чтобы отправить.',
    recording: 'Идёт запись',
    recordingHelp: '. Нажмите «Отправить голосовое сообщение», чтобы отправить, или «Отменить».',
    micStart: 'Записать голосовое сообщение',
    micSend: 'Отправить голосовое сообщение',
    left: (n) => `Осталось символов: ${n} из ${MAX_LEN}`,
    full: `Достигнут предел — ${MAX_LEN} символов`,
  };
  const AUTHOR = { bot: 'Бот', operator: 'Оператор', citizen: 'Вы' };
  const TICK = {
    pending: ['…', 'отправляется'],
    delivered: ['✓', 'доставлено'],
    failed: ['!', 'не доставлено'],
  };

  const embed = new URLSearchParams(location.search).get('embed') === '1';
  if (embed) document.documentElement.classList.add('okno-embed');

  // localStorage can throw (disabled storage, third-party iframe); fall back to memory.
  const memory = {};
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch { return memory[k] ?? null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch { memory[k] = v; } },
    del(k) { try { localStorage.removeItem(k); } catch { /* memory only */ } delete memory[k]; },
  };

  let list, input, attachBtn, fileInput, statusEl, counterEl;
  let form, micBtn, recBox, recTime, recHint;
  let recorder = null; // the voice message being recorded
  let socket = null;
  let ready = false; // true after "welcome": only then frames may go out, else they'd double on resend
  let attempt = 0;
  let timer = null;
  let tokens = BURST;
  let refilled = 0;
  let sent = new Set(); // ids sent on the current socket
  let pumpTimer = null;
  let visitor = store.get(VISITOR_KEY);
  let pending = loadPending();
  const byId = new Map();

  function loadPending() {
    try {
      const v = JSON.parse(store.get(PENDING_KEY) || '[]');
      return Array.isArray(v) ? v.filter((f) => f && typeof f === 'object' && f.id) : [];
    } catch { return []; }
  }
  function savePending() { store.set(PENDING_KEY, JSON.stringify(pending)); }
  // A frame the server answered (ack or refusal) is never sent again.
  function settle(id, state) {
    pending = pending.filter((f) => String(f.id) !== id);
    savePending();
    const n = byId.get(id);
    if (n) setTick(n, state);
  }

  function newId() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  // Only http(s) may become a link or an image source.
  function safeUrl(u) {
    try {
      const x = new URL(String(u), location.href);
      return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
    } catch { return null; }
  }

  function link(href, text) {
    const a = el('a', '', text);
    Object.assign(a, { href, target: '_blank', rel: 'noopener noreferrer' });
    return a;
  }

  // Builds text nodes and <a> elements; the text itself is never parsed as HTML.
  // a phone number stays on one line: «8 800 555-35-35» must not break after «555-35-»
  const PHONE = /(?:\+7|8)[\s\u2010\u2011-]*\(?\d{3}\)?(?:[\s\u2010\u2011-]*\d){7}/g;

  function fillText(node, text, linkify) {
    const words = (s) => { if (s) node.appendChild(document.createTextNode(s)); };
    const plain = (s) => {
      if (!s) return;
      let from = 0;
      for (const m of s.matchAll(PHONE)) {
        words(s.slice(from, m.index));
        node.appendChild(el('span', 'okno-nowrap', m[0]));
        from = m.index + m[0].length;
      }
      words(s.slice(from));
    };
    if (!linkify) { plain(text); return; }
    const re = /https?:\/\/[^\s<>"«»]+/g;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      const raw = m[0].replace(/[.,;:!?)\]'"]+$/, '');
      const href = safeUrl(raw);
      plain(text.slice(last, m.index));
      if (href) node.appendChild(link(href, raw)); else plain(raw);
      last = m.index + raw.length;
      re.lastIndex = last;
    }
    plain(text.slice(last));
  }

  function hhmm(at) {
    const d = at ? new Date(at) : new Date();
    if (Number.isNaN(d.getTime())) return null;
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }

  function renderFile(file) {
    const box = el('div', 'okno-file');
    const href = file.url ? safeUrl(file.url) : null;
    const name = String(file.name || 'Файл');
    if (href && file.kind === 'voice') {
      const audio = Object.assign(el('audio', 'okno-audio'), { controls: true, preload: 'metadata', src: href });
      audio.setAttribute('aria-label', 'Голосовое сообщение');
      box.appendChild(audio);
    } else if (href && file.kind === 'photo') {
      const img = Object.assign(el('img', 'okno-photo'), { alt: 'Фото', src: href, loading: 'lazy' });
      box.appendChild(link(href, null)).appendChild(img);
    } else if (href) {
      box.appendChild(link(href, name));
    } else {
      box.appendChild(el('span', 'okno-file-name', `Файл: ${name}`));
    }
    return box;
  }

  function setTick(node, state) {
    node.classList.remove('okno-pending', 'okno-delivered', 'okno-failed');
    node.classList.add(`okno-${state}`);
    const tick = node.querySelector('.okno-tick');
    if (!tick) return;
    tick.textContent = TICK[state][0];
    tick.setAttribute('aria-label', TICK[state][1]);
  }

  function buildMessage(m, state) {
    const from = AUTHOR[m.from] ? m.from : 'bot';
    const node = el('div', `okno-msg okno-from-${from}`);
    node.dataset.id = String(m.id);
    node.appendChild(el('span', from === 'operator' ? 'okno-author' : 'okno-author okno-vh', AUTHOR[from]));
    const bubble = node.appendChild(el('div', 'okno-bubble'));
    const text = bubble.appendChild(el('div', 'okno-text'));
    fillText(text, String(m.text || ''), from !== 'citizen');
    if (m.file) bubble.appendChild(renderFile(m.file));
    if (Array.isArray(m.buttons) && m.buttons.length) {
      const row = node.appendChild(el('div', 'okno-buttons'));
      for (const b of m.buttons) {
        const btn = row.appendChild(el('button', 'okno-button', String(b.label)));
        btn.type = 'button';
        btn.addEventListener('click', () => press(String(b.id), String(b.label)));
      }
    }
    const meta = node.appendChild(el('div', 'okno-meta'));
    const time = hhmm(m.at);
    if (time) {
      const t = meta.appendChild(el('time', '', time));
      if (m.at) t.dateTime = String(m.at);
    }
    if (from === 'citizen') {
      const tick = meta.appendChild(el('span', 'okno-tick'));
      tick.setAttribute('role', 'img');
      setTick(node, state || 'delivered');
    }
    return node;
  }

  let pinned = true; // was the list at the bottom before the last change?
  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < SCROLL_SLACK;
  }
  function scrollDown() { list.scrollTop = list.scrollHeight; }

  // Only the newest message's buttons work; older menus are stale.
  function refreshButtons() {
    const msgs = list.querySelectorAll('.okno-msg');
    const newest = msgs[msgs.length - 1];
    for (const b of list.querySelectorAll('.okno-buttons button')) {
      b.disabled = b.closest('.okno-msg') !== newest;
    }
  }

  // Appends unless already shown (dedupe by id); returns the element.
  function addMessage(m, state, force) {
    if (!m || m.id == null) return null;
    const id = String(m.id);
    const existing = byId.get(id);
    if (existing) {
      if (m.from === 'citizen') setTick(existing, 'delivered');
      return existing;
    }
    const stick = force || nearBottom();
    const node = buildMessage(m, state);
    byId.set(id, node);
    list.appendChild(node);
    refreshButtons();
    if (stick) scrollDown();
    return node;
  }

  function notice(text) {
    const stick = nearBottom();
    const n = list.appendChild(el('div', 'okno-notice', String(text)));
    if (stick) scrollDown();
    return n;
  }

  function frameToMessage(f) {
    const text = f.type === 'press' ? f.label : f.text;
    if (f.type === 'file' && f.kind === 'voice') { // playable at once: it is on the server already
      return { id: f.id, from: 'citizen', text: '', file: { kind: 'voice', url: f.url, name: '' } };
    }
    return { id: f.id, from: 'citizen', text, file: f.type === 'file' ? { name: f.name } : null };
  }

  // Elements only this page knows (notices, refused messages) must survive a history re-render.
  function takeLocal() {
    const kept = [];
    const seen = [];
    for (const child of list.children) {
      if (child.matches('.okno-notice, .okno-failed')) kept.push([child, seen.slice()]);
      if (child.dataset.id) seen.push(child.dataset.id);
    }
    return kept;
  }

  // Each goes back after the nearest earlier message that is still shown.
  function restoreLocal(kept) {
    const put = new Set();
    for (const [n, seen] of kept) {
      if (n.dataset.id && byId.has(n.dataset.id)) continue; // the server has it after all
      let at = null;
      for (let i = seen.length - 1; i >= 0 && !at; i--) at = byId.get(seen[i]) || null;
      if (at) {
        while (put.has(at.nextElementSibling)) at = at.nextElementSibling;
        at.after(n);
      } else list.appendChild(n);
      put.add(n);
      if (n.dataset.id) byId.set(n.dataset.id, n);
    }
  }

  // History replaces what is shown; unacknowledged frames follow it as pending bubbles.
  function renderHistory(history) {
    const kept = takeLocal();
    list.replaceChildren();
    byId.clear();
    const ids = new Set();
    for (const m of history) {
      if (m && m.id != null && !ids.has(String(m.id))) {
        ids.add(String(m.id));
        addMessage(m, 'delivered', true);
      }
    }
    pending = pending.filter((f) => !ids.has(String(f.id))); // the server already has those
    savePending();
    for (const f of pending) addMessage(frameToMessage(f), 'pending', true);
    restoreLocal(kept);
    refreshButtons();
    scrollDown();
  }

  // ---- connection ----

  function setStatus(text) {
    statusEl.hidden = !text;
    statusEl.textContent = text || '';
  }

  // Frames go out in order and paced like the server's per-socket limit (a burst of 5, then
  // 1 a second), so a backlog resent after a reconnect is delayed rather than refused.
  function pump() {
    clearTimeout(pumpTimer);
    pumpTimer = null;
    if (!ready || !socket || socket.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    tokens = Math.min(BURST, tokens + ((now - refilled) / 1000) * RATE);
    refilled = now;
    for (const f of pending) {
      if (sent.has(f.id)) continue;
      if (tokens < 1) { pumpTimer = setTimeout(pump, ((1 - tokens) / RATE) * 1000); return; }
      tokens -= 1;
      sent.add(f.id);
      socket.send(JSON.stringify(f));
    }
  }

  function connect() {
    if (socket) return; // one socket at a time
    clearTimeout(timer);
    timer = null;
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/chat/ws`;
    let ws;
    try { ws = new WebSocket(url); } catch { schedule(); return; }
    socket = ws;
    ready = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', visitor: visitor || null }));
    ws.onmessage = (e) => { if (ws === socket) onFrame(e.data); };
    ws.onclose = () => {
      if (ws !== socket) return;
      socket = null;
      ready = false;
      setStatus(T.lost);
      schedule();
    };
  }

  // 0.5 s doubling to 10 s, plus up to 30% jitter so a server restart is not stampeded.
  function schedule() {
    if (timer || socket) return;
    const base = Math.min(10000, 500 * 2 ** attempt);
    attempt += 1;
    timer = setTimeout(connect, base + Math.random() * base * 0.3);
  }

  // Skips the backoff wait; does nothing while a socket is open or opening.
  const reconnectNow = () => connect();

  function onFrame(data) {
    let f;
    try { f = JSON.parse(data); } catch { return; }
    if (!f || typeof f !== 'object') return;
    switch (f.type) {
      case 'welcome':
        if (f.visitor) { visitor = String(f.visitor); store.set(VISITOR_KEY, visitor); }
        renderHistory(Array.isArray(f.history) ? f.history : []);
        ready = true;
        attempt = 0;
        setStatus('');
        sent = new Set(); // a new socket: every pending frame is resent
        tokens = BURST;
        refilled = performance.now();
        pump();
        break;
      case 'ack':
        settle(String(f.id), 'delivered');
        break;
      case 'message':
        addMessage(f, 'delivered', false);
        break;
      case 'error':
        if (f.id != null) settle(String(f.id), 'failed');
        if (f.text) notice(f.text);
        break;
      case 'ended': // ended in another tab of this browser
        forget();
        break;
    }
  }

  // ---- sending ----

  function queue(frame) {
    pending.push(frame);
    savePending();
    addMessage(frameToMessage(frame), 'pending', true);
    pump(); // offline: stays pending, resent after the next welcome
  }

  function sendText() {
    const text = input.value.trim().slice(0, MAX_LEN);
    if (!text) return;
    queue({ type: 'message', id: newId(), text });
    input.value = '';
    onInput();
    input.focus();
  }

  function press(button, label) {
    queue({ type: 'press', id: newId(), button, label });
    input.focus(); // the pressed button is now disabled and would drop focus to <body>
  }

  async function upload(file, voice) {
    if (file.size > MAX_FILE) { notice(T.tooBig); return; }
    if (!visitor) { notice(T.notReady); return; }
    const progress = notice(voice ? T.uploadingVoice : T.uploading);
    attachBtn.disabled = micBtn.disabled = true;
    try {
      const body = new FormData();
      body.append('file', file, file.name);
      const res = await fetch('/chat/files', {
        method: 'POST', body, headers: { 'X-Okno-Visitor': visitor }, credentials: 'same-origin',
      });
      let data = null;
      try { data = await res.json(); } catch { data = null; }
      progress.remove();
      if (!res.ok || !data || !data.ref) {
        notice((data && data.error) || T.uploadFailed);
        return;
      }
      const ref = String(data.ref);
      const frame = { type: 'file', id: newId(), ref, name: String(data.name || file.name), text: '' };
      if (voice) Object.assign(frame, { kind: 'voice', url: String(data.url || '') });
      queue(frame);
    } catch {
      progress.remove();
      notice(T.uploadOffline);
    } finally {
      attachBtn.disabled = micBtn.disabled = false;
    }
  }

  // ---- «Завершить чат»: the server forgets this visitor, the browser too (a shared computer) ----

  async function endChat() {
    const token = visitor;
    if (token) {
      try {
        await fetch('/chat/end', {
          method: 'POST', headers: { 'X-Okno-Visitor': token }, credentials: 'same-origin',
        });
      } catch { /* offline: the browser forgets it all the same */ }
    }
    forget();
  }

  function forget() {
    visitor = null;
    store.del(VISITOR_KEY);
    pending = [];
    store.del(PENDING_KEY);
    list.replaceChildren();
    byId.clear();
    const old = socket;
    socket = null; // its close must not schedule a reconnect of its own
    ready = false;
    if (old) old.close();
    notice(T.ended);
    clearTimeout(timer);
    timer = null;
    connect(); // a fresh chat, with a new token from the server
  }

  // ---- voice messages: the microphone starts a recording, the same button sends it ----

  function voiceType() {
    if (!window.MediaRecorder || typeof MediaRecorder.isTypeSupported !== 'function') return null;
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') return null;
    return VOICE_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || null;
  }

  function micError(e) {
    const name = e && e.name;
    if (name === 'NotAllowedError' || name === 'SecurityError') return T.micDenied;
    if (name === 'NotFoundError' || name === 'OverconstrainedError') return T.micMissing;
    if (name === 'NotReadableError' || name === 'AbortError') return T.micBusy;
    return T.micUnsupported;
  }

  async function onMic() {
    if (recorder) { stopVoice(true); return; }
    const type = voiceType();
    if (!type) { notice(T.micUnsupported); return; }
    if (!visitor) { notice(T.notReady); return; }
    micBtn.disabled = true; // the browser may be asking the citizen for the microphone
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      notice(micError(e));
      return;
    } finally {
      micBtn.disabled = false;
    }
    startVoice(stream, type);
  }

  function startVoice(stream, type) {
    let media;
    try {
      media = new MediaRecorder(stream, { mimeType: type, audioBitsPerSecond: 32000 });
    } catch {
      stream.getTracks().forEach((t) => t.stop());
      notice(T.micUnsupported);
      return;
    }
    const rec = { media, stream, chunks: [], started: performance.now(), elapsed: 0, send: false, ticker: null };
    media.ondataavailable = (e) => { if (e.data && e.data.size) rec.chunks.push(e.data); };
    media.onstop = () => finishVoice(rec);
    media.onerror = () => { if (recorder === rec) { stopVoice(false); notice(T.micFailed); } };
    media.start(1000);
    recorder = rec;
    showRecording(true);
    rec.ticker = setInterval(() => tick(rec), 250);
    tick(rec);
  }

  function clock(seconds) {
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }

  function tick(rec) {
    const ms = performance.now() - rec.started;
    const limit = el('span', 'okno-rec-limit', ` / ${clock(MAX_VOICE_SECONDS)}`);
    recTime.replaceChildren(clock(Math.min(MAX_VOICE_SECONDS, Math.floor(ms / 1000))), limit);
    if (ms >= MAX_VOICE_SECONDS * 1000 - 300) stopVoice(true); // the limit: what was said goes
  }

  function showRecording(on) {
    form.classList.toggle('okno-is-recording', on);
    recBox.hidden = !on;
    recHint.replaceChildren(...(on ? [T.recording, el('span', 'okno-vh', T.recordingHelp)] : []));
    micBtn.setAttribute('aria-label', on ? T.micSend : T.micStart);
    micBtn.title = on ? T.micSend : T.micStart;
  }

  // send: upload what was recorded; otherwise it is thrown away
  function stopVoice(send) {
    const rec = recorder;
    if (!rec) return;
    recorder = null;
    rec.send = send;
    rec.elapsed = performance.now() - rec.started;
    clearInterval(rec.ticker);
    const hadFocus = form.contains(document.activeElement);
    showRecording(false);
    if (hadFocus) (send ? micBtn : input).focus();
    if (rec.media.state !== 'inactive') rec.media.stop(); else finishVoice(rec);
  }

  function finishVoice(rec) {
    rec.stream.getTracks().forEach((t) => t.stop()); // the browser's «recording» mark goes off
    if (!rec.send) return;
    if (rec.elapsed < MIN_VOICE_MS || !rec.chunks.length) { notice(T.tooShort); return; }
    const type = (rec.media.mimeType || rec.chunks[0].type || 'audio/webm').split(';')[0];
    upload(new File(rec.chunks, type.endsWith('ogg') ? 'voice.ogg' : 'voice.webm', { type }), true);
  }

  function onInput() {
    const n = input.value.length;
    counterEl.hidden = n < WARN_LEN;
    counterEl.textContent = n >= MAX_LEN ? T.full : T.left(MAX_LEN - n);
    input.style.height = 'auto'; // grow with the text up to the CSS max-height
    input.style.height = `${input.scrollHeight + input.offsetHeight - input.clientHeight}px`;
  }

  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  }

  function init() {
    [list, input, attachBtn, fileInput, statusEl, counterEl] = ['messages', 'input', 'attach', 'file', 'status', 'counter']
      .map((name) => document.getElementById(`okno-${name}`));
    [form, micBtn, recBox, recTime, recHint] = ['form', 'mic', 'recording', 'rec-time', 'rec-hint']
      .map((name) => document.getElementById(`okno-${name}`));

    form.addEventListener('submit', (e) => { e.preventDefault(); if (!recorder) sendText(); });
    micBtn.addEventListener('click', onMic);
    document.getElementById('okno-end').addEventListener('click', endChat);
    document.getElementById('okno-rec-cancel').addEventListener('click', () => stopVoice(false));
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape' && recorder) { e.stopPropagation(); stopVoice(false); } });
    input.addEventListener('keydown', onKey);
    // A phone keyboard or a resize shrinks the list: keep the newest message in view.
    list.addEventListener('scroll', () => { pinned = nearBottom(); }, { passive: true });
    if (window.ResizeObserver) new ResizeObserver(() => { if (pinned) scrollDown(); }).observe(list);
    input.addEventListener('input', onInput);
    attachBtn.addEventListener('click', () => fileInput.click());
    fileInput.addEventListener('change', () => {
      const file = fileInput.files && fileInput.files[0];
      fileInput.value = ''; // allow choosing the same file again
      if (file) upload(file, false);
    });

    // Unsent messages from a previous page load are visible at once, even offline.
    for (const f of pending) addMessage(frameToMessage(f), 'pending', true);

    // Another tab of the same browser changed the queue: do not overwrite its frames.
    window.addEventListener('storage', (e) => { if (e.key === PENDING_KEY) pending = loadPending(); });
    window.addEventListener('online', reconnectNow);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') reconnectNow();
    });

    if (embed) {
      // The widget asks for focus when it opens; put the caret where the citizen types.
      window.addEventListener('message', (e) => {
        if (e.source === window.parent && e.data && e.data.type === 'okno:focus') input.focus();
      });
      // Esc inside the frame never reaches the portal page, so ask the widget to close.
      document.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && window.parent !== window) window.parent.postMessage({ type: 'okno:close' }, '*');
      });
    }

    setStatus(T.connecting);
    connect();
  }

  window.oknoChat = { socket: () => socket, reconnectNow };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
