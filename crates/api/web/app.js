// The page at /: sends a file or URL to /parse/image (the OCR.space API) and
// shows the result: the page with every word's box, the text, the raw JSON,
// the processing time, the searchable PDF link, or the API's own error.
// Plain browser JavaScript, no dependencies; doctr.js (the /ocr and /kie tab)
// reuses the helpers exported at the end as window.OcrPage.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const KEY_STORE = 'ocr-server.apikey';

  // ---- small helpers shared with doctr.js ----------------------------------

  /** Shows messages (a list of strings) in an alert box, or hides it for none. */
  function showError(box, messages) {
    const list = (messages || []).filter((m) => m !== undefined && m !== null && String(m).trim() !== '');
    box.textContent = list.join('\n');
    box.hidden = list.length === 0;
  }

  /** Copies text to the clipboard and says so in `status`. */
  async function copyText(text, status) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = document.createElement('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    status.textContent = 'Copied.';
    setTimeout(() => { status.textContent = ''; }, 2000);
  }

  /** Drag and drop onto `zone` fills the file `input` (and fires its change event). */
  function setupDrop(zone, input, label) {
    const show = () => {
      const names = Array.from(input.files || []).map((f) => `${f.name} (${Math.ceil(f.size / 1024)} KB)`);
      label.textContent = names.length ? names.join(', ') : 'No file chosen.';
    };
    input.addEventListener('change', show);
    zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      const keep = new DataTransfer();
      const files = input.multiple ? Array.from(e.dataTransfer.files) : [e.dataTransfer.files[0]];
      files.forEach((f) => keep.items.add(f));
      input.files = keep.files;
      input.dispatchEvent(new Event('change'));
    });
  }

  /** The API key to send: the field's value. */
  const apiKey = () => $('apikey').value.trim();

  /** Loads an image (object URL or the user's URL); null when the browser cannot show it (TIFF, PDF…). */
  async function loadImage(src) {
    if (!src) return null;
    const img = new Image();
    img.src = src;
    try {
      await img.decode();
      return img;
    } catch (_) {
      return null;
    }
  }

  /** Sizes of a TIFF's pages, read from its directory chain (the browser cannot decode TIFF). */
  function tiffSizes(buf) {
    const v = new DataView(buf);
    if (v.byteLength < 8) return [];
    const le = v.getUint16(0) === 0x4949;
    if (!le && v.getUint16(0) !== 0x4d4d) return [];
    const u16 = (o) => v.getUint16(o, le);
    const u32 = (o) => v.getUint32(o, le);
    const sizes = [];
    let ifd = u32(4);
    while (ifd && ifd + 2 <= v.byteLength && sizes.length < 10000) {
      const n = u16(ifd);
      if (ifd + 2 + n * 12 + 4 > v.byteLength) break;
      let w = 0; let h = 0;
      for (let i = 0; i < n; i++) {
        const e = ifd + 2 + i * 12;
        const tag = u16(e);
        const value = u16(e + 2) === 3 ? u16(e + 8) : u32(e + 8);
        if (tag === 256) w = value;
        if (tag === 257) h = value;
      }
      sizes.push(w && h ? { width: w, height: h } : null);
      ifd = u32(ifd + 2 + n * 12);
    }
    return sizes;
  }

  /** Page sizes of a PDF at `dpi` from its MediaBox entries, when they are readable (not inside compressed streams). */
  function pdfSizes(buf, dpi, pages) {
    const text = new TextDecoder('latin1').decode(buf);
    const boxes = [...text.matchAll(/\/MediaBox\s*\[\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*\]/g)]
      .map((m) => ({ width: (m[3] - m[1]) * dpi / 72, height: (m[4] - m[2]) * dpi / 72 }));
    if (boxes.length === pages) return boxes;
    const same = boxes.length > 0 && boxes.every((b) => b.width === boxes[0].width && b.height === boxes[0].height);
    return same ? Array(pages).fill(boxes[0]) : [];
  }

  /**
   * Draws a page into `viewer`: the image (turned by `rotate` degrees clockwise)
   * or a blank page of `width` x `height`, and over it one focusable box per
   * entry of `boxes` ({x0, y0, x1, y1} as fractions of the page, `text`,
   * `detail`, `group`, `id`, `cls`). Arrow keys move between boxes; hover and
   * focus show the text. Returns the box elements.
   */
  function drawPage(viewer, { image, width, height, rotate, boxes, onFocus }) {
    viewer.replaceChildren();
    const canvas = document.createElement('canvas');
    const scale = Math.min(1, 2000 / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (image) {
      const turn = ((Number(rotate) || 0) % 360 + 360) % 360;
      ctx.save();
      ctx.scale(scale, scale);
      if (turn === 90) ctx.translate(width, 0);
      if (turn === 180) ctx.translate(width, height);
      if (turn === 270) ctx.translate(0, height);
      ctx.rotate(turn * Math.PI / 180);
      // Stretched to the page as the server read it (the same size unless it resampled).
      const [w0, h0] = turn % 180 ? [height, width] : [width, height];
      ctx.drawImage(image, 0, 0, w0, h0);
      ctx.restore();
    }
    canvas.setAttribute('aria-hidden', 'true');
    const layer = document.createElement('div');
    layer.className = 'boxes';
    const tip = document.createElement('div');
    tip.className = 'tip';
    tip.hidden = true;
    const els = boxes.map((b, i) => {
      const el = document.createElement('span');
      el.className = `box ${b.cls || ''}`;
      el.style.left = `${b.x0 * 100}%`;
      el.style.top = `${b.y0 * 100}%`;
      el.style.width = `${(b.x1 - b.x0) * 100}%`;
      el.style.height = `${(b.y1 - b.y0) * 100}%`;
      el.tabIndex = i === 0 ? 0 : -1;
      el.setAttribute('role', 'img');
      el.setAttribute('aria-label', b.detail ? `${b.text}, ${b.detail}` : b.text);
      el.dataset.group = b.group ?? '';
      if (b.id !== undefined) el.dataset.id = b.id;
      const show = () => {
        tip.textContent = b.detail ? `${b.text} · ${b.detail}` : b.text;
        // Above the box, or below it near the top; anchored on the side with more room.
        tip.style.top = b.y0 > 0.08 ? `${b.y0 * 100}%` : `${b.y1 * 100}%`;
        tip.classList.toggle('below', b.y0 <= 0.08);
        tip.style.left = b.x0 < 0.5 ? `${b.x0 * 100}%` : '';
        tip.style.right = b.x0 < 0.5 ? '' : `${(1 - b.x1) * 100}%`;
        tip.hidden = false;
        if (onFocus) onFocus(b, true);
      };
      const hide = () => { tip.hidden = true; if (onFocus) onFocus(b, false); };
      el.addEventListener('mouseenter', show);
      el.addEventListener('focus', show);
      el.addEventListener('mouseleave', hide);
      el.addEventListener('blur', hide);
      return el;
    });
    layer.addEventListener('keydown', (e) => {
      const at = els.indexOf(document.activeElement);
      if (at < 0) return;
      const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: els.length - 1 }[e.key];
      if (to === undefined || to < 0 || to >= els.length) return;
      e.preventDefault();
      els[at].tabIndex = -1;
      els[to].tabIndex = 0;
      els[to].focus();
    });
    layer.append(...els, tip);
    viewer.append(canvas, layer);
    return els;
  }

  /** A pager: Previous / "Page i of n" / Next over `count` pages, calling `show(i)`. */
  function pager(prev, next, label, count, show) {
    let at = 0;
    const go = (i) => {
      at = Math.max(0, Math.min(count - 1, i));
      label.textContent = `Page ${at + 1} of ${count}`;
      prev.disabled = at === 0;
      next.disabled = at === count - 1;
      show(at);
    };
    prev.onclick = () => go(at - 1);
    next.onclick = () => go(at + 1);
    prev.parentElement.hidden = count < 2;
    go(0);
  }

  /** Tabs with arrow-key movement (WAI-ARIA tabs pattern). */
  function setupTabs() {
    const tabs = () => Array.from(document.querySelectorAll('[role=tab]')).filter((t) => !t.hidden);
    const select = (tab) => {
      for (const t of document.querySelectorAll('[role=tab]')) {
        const on = t === tab;
        t.setAttribute('aria-selected', String(on));
        t.tabIndex = on ? 0 : -1;
        $(t.getAttribute('aria-controls')).hidden = !on;
      }
    };
    for (const t of document.querySelectorAll('[role=tab]')) {
      t.addEventListener('click', () => select(t));
      t.addEventListener('keydown', (e) => {
        const list = tabs();
        const i = list.indexOf(t);
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        const tab = list[(to + list.length) % list.length];
        select(tab);
        tab.focus();
      });
    }
  }

  /** The response body as JSON (or null) and its pretty-printed text. */
  async function readBody(resp) {
    const text = await resp.text();
    try {
      const body = JSON.parse(text);
      return { body, text: JSON.stringify(body, null, 2) };
    } catch (_) {
      return { body: null, text };
    }
  }

  window.OcrPage = { $, showError, copyText, setupDrop, apiKey, loadImage, drawPage, pager, readBody, tiffSizes };

  // ---- the OCR.space tab ---------------------------------------------------

  let config = { demoKey: null, languages: ['eng'], engines: [1, 2, 3], pdfDpi: 300 };

  const normalise = (s) => String(s || '').replace(/\s+/g, '');
  const lineText = (line) => line.LineText ?? (line.Words || []).map((w) => w.WordText).join(' ');

  /** Pairs each line of ParsedText with the overlay lines it is made of (in reading order). */
  function linkLines(text, lines) {
    const rows = String(text || '').split(/\r?\n/);
    if (rows.length && rows[rows.length - 1] === '') rows.pop();
    let k = 0;
    return rows.map((row) => {
      const target = normalise(row);
      const idx = [];
      let acc = '';
      for (let j = k; j < lines.length && acc.length < target.length; j++) {
        const next = acc + normalise(lineText(lines[j]));
        if (!target.startsWith(next) || next === acc) break;
        acc = next;
        idx.push(j);
      }
      if (target && acc === target) {
        k = idx[idx.length - 1] + 1;
        return { row, idx };
      }
      for (let m = k; target && m < lines.length; m++) {
        if (normalise(lineText(lines[m])) === target) { k = m + 1; return { row, idx: [m] }; }
      }
      return { row, idx: [] };
    });
  }

  /** The extent of a page's words: right and bottom edges, and the smallest left and top. */
  function extents(lines) {
    const e = { left: Infinity, top: Infinity, right: 0, bottom: 0 };
    for (const l of lines) {
      for (const w of l.Words || []) {
        e.left = Math.min(e.left, w.Left);
        e.top = Math.min(e.top, w.Top);
        e.right = Math.max(e.right, w.Left + w.Width);
        e.bottom = Math.max(e.bottom, w.Top + w.Height);
      }
    }
    return e.right ? e : null;
  }

  /**
   * Size of page `i`'s drawing and whether the image itself can be shown.
   * TIFF pages: the size in their header. PDF pages: the server reads words
   * in pixels at 300 dpi for rendered and born-digital pages, but in the
   * embedded image's own pixels for a page that is one scanned image, and the
   * JSON does not say which; so the MediaBox at 300 dpi is taken when the
   * words fit it and fill over half of it, otherwise a page of the MediaBox's
   * proportions around the words (right and bottom margins as the left and
   * top ones). `guessed` marks the estimates.
   */
  function pageFrame(source, i, lines) {
    if (source.image && (i === 0 || source.frames)) {
      return { image: i === 0 ? source.image : null, width: source.image.naturalWidth, height: source.image.naturalHeight };
    }
    const known = source.sizes[i];
    const e = extents(lines);
    if (known && !source.isPdf) return { image: null, width: known.width, height: known.height };
    if (known && (!e || (e.right <= known.width * 1.01 && e.bottom <= known.height * 1.01
        && (e.right > 0.55 * known.width || e.bottom > 0.55 * known.height)))) {
      return { image: null, width: known.width, height: known.height };
    }
    if (!e) return { image: null, width: 1000, height: 1414, guessed: true };
    let width = e.right + Math.max(e.left, 0);
    let height = e.bottom + Math.max(e.top, 0);
    if (known) {
      const ratio = known.height / known.width;
      width = Math.max(width, height / ratio);
      height = width * ratio;
    }
    return { image: null, width, height, guessed: true };
  }

  function showPage(source, page, i) {
    const lines = (page.TextOverlay && page.TextOverlay.Lines) || [];
    const frame = pageFrame(source, i, lines);
    const turn = Number(page.TextOrientation) || 0;
    let { width, height } = frame;
    if (frame.image && (turn === 90 || turn === 270)) [width, height] = [height, width];
    const notes = [];
    if (!frame.image) {
      notes.push(source.isPdf
        ? 'PDF page: the browser here has no PDF renderer, so the boxes are drawn on a blank page'
        : 'This page cannot be shown by the browser, so the boxes are drawn on a blank page');
      notes.push(frame.guessed ? 'sized around its words (its true size is not known here).' : 'of its size.');
    }
    if (turn) notes.push(`The page was turned ${turn}° clockwise before reading; it is shown turned.`);
    if (page.FileParseExitCode !== 1 && page.ErrorMessage) notes.push(`Page error: ${page.ErrorMessage}`);
    $('page-note').textContent = notes.join(' ');

    const textEl = $('text');
    textEl.replaceChildren();
    const linked = linkLines(page.ParsedText, lines);
    const spansOfLine = new Map();
    for (const { row, idx } of linked) {
      const span = document.createElement('span');
      span.className = 'line';
      span.textContent = row;
      span.dataset.lines = idx.join(',');
      idx.forEach((j) => spansOfLine.set(j, [...(spansOfLine.get(j) || []), span]));
      textEl.append(span, '\n');
    }
    const boxes = [];
    lines.forEach((line, li) => (line.Words || []).forEach((w, wi) => {
      const conf = w.Confidence ?? w.confidence;
      boxes.push({
        x0: w.Left / width, y0: w.Top / height, x1: (w.Left + w.Width) / width, y1: (w.Top + w.Height) / height,
        text: w.WordText, detail: conf !== undefined ? `confidence ${conf}` : `line ${li + 1}`, group: li, id: `${li}.${wi}`,
      });
    }));
    const els = drawPage($('viewer'), {
      image: frame.image, width, height, rotate: turn, boxes,
      onFocus: (b, on) => (spansOfLine.get(b.group) || []).forEach((s) => s.classList.toggle('hl', on)),
    });
    currentBoxes = els;
  }

  let currentBoxes = [];

  /** Highlights the boxes of every line touched by the text selection. */
  function onSelection() {
    const sel = document.getSelection();
    const textEl = $('text');
    const groups = new Set();
    if (sel && !sel.isCollapsed && sel.rangeCount && sel.getRangeAt(0).intersectsNode(textEl)) {
      const range = sel.getRangeAt(0);
      for (const span of textEl.querySelectorAll('.line')) {
        if (range.intersectsNode(span) && span.dataset.lines) span.dataset.lines.split(',').forEach((g) => groups.add(g));
      }
    }
    for (const el of currentBoxes) el.classList.toggle('hl', groups.has(el.dataset.group));
  }

  async function submit(e) {
    e.preventDefault();
    const form = $('ocr-form');
    const file = $('file').files[0];
    const url = $('url').value.trim();
    const body = new FormData();
    if (file) body.append('file', file, file.name);
    else if (url) body.append('url', url);
    body.append('language', $('language').value);
    body.append('OCREngine', $('engine').value);
    body.append('isOverlayRequired', 'true');
    for (const name of ['detectOrientation', 'scale', 'isTable', 'isCreateSearchablePdf', 'isSearchablePdfHideTextLayer']) {
      body.append(name, String(form.elements[name].checked));
    }
    const key = apiKey();
    if ($('remember').checked && key) localStorage.setItem(KEY_STORE, key);
    const headers = key ? { apikey: key } : {};

    showError($('error'), []);
    $('result').hidden = true;
    $('submit').disabled = true;
    $('status').textContent = 'Reading…';
    const started = performance.now();
    let resp;
    try {
      resp = await fetch('/parse/image', { method: 'POST', body, headers });
    } catch (err) {
      $('status').textContent = '';
      $('submit').disabled = false;
      showError($('error'), [`The server did not answer: ${err.message}`]);
      return;
    }
    const { body: json, text } = await readBody(resp);
    const roundTrip = Math.round(performance.now() - started);
    $('submit').disabled = false;
    $('status').textContent = '';
    $('json').textContent = text;
    await render(json, resp, roundTrip, file, url, text);
  }

  async function render(json, resp, roundTrip, file, url, text) {
    if (json === null || typeof json !== 'object') {
      // 403s carry a bare JSON string; anything else that is not JSON is shown as sent.
      showError($('error'), [typeof json === 'string' ? json : `HTTP ${resp.status}: ${text.slice(0, 500)}`]);
      return;
    }
    const messages = [].concat(json.ErrorMessage || []);
    if (json.ErrorDetails && !messages.includes(json.ErrorDetails)) messages.push(json.ErrorDetails);
    if (json.IsErroredOnProcessing) showError($('error'), messages.length ? messages : ['The request failed.']);
    const pages = json.ParsedResults || [];
    $('result').hidden = false;
    $('time').textContent = `${json.ProcessingTimeInMilliseconds ?? '?'} ms on the server, ${roundTrip} ms round trip`;
    $('exit').textContent = String(json.OCRExitCode);
    const pdf = $('pdf');
    pdf.replaceChildren();
    const link = json.SearchablePDFURL;
    if (typeof link === 'string' && /^https?:\/\//.test(link)) {
      const a = document.createElement('a');
      a.href = link;
      a.id = 'pdf-link';
      a.textContent = 'Download the searchable PDF';
      a.target = '_blank';
      a.rel = 'noopener';
      pdf.append(a);
    } else {
      pdf.textContent = link || '—';
    }
    const panes = document.querySelector('#result .panes');
    panes.hidden = pages.length === 0;
    if (!pages.length) { $('pager').hidden = true; $('page-note').textContent = ''; return; }

    const source = { image: null, sizes: [], isPdf: false, frames: false };
    if (file) {
      const buf = await file.arrayBuffer();
      const head = new Uint8Array(buf.slice(0, 5));
      source.isPdf = String.fromCharCode(...head) === '%PDF-';
      if (source.isPdf) source.sizes = pdfSizes(buf, config.pdfDpi || 300, pages.length);
      else source.sizes = tiffSizes(buf);
      if (!source.isPdf && !source.sizes.length) {
        const objectUrl = URL.createObjectURL(file);
        source.image = await loadImage(objectUrl);
        source.frames = pages.length > 1; // a GIF's frames share its size
      }
    } else if (url) {
      source.image = await loadImage(url);
    }
    pager($('prev'), $('next'), $('page-label'), pages.length, (i) => showPage(source, pages[i], i));
  }

  async function init() {
    setupTabs();
    setupDrop($('drop'), $('file'), $('file-name'));
    $('ocr-form').addEventListener('submit', submit);
    $('copy').addEventListener('click', () => copyText($('json').textContent, $('copied')));
    document.addEventListener('selectionchange', onSelection);
    $('remember').addEventListener('change', () => {
      if ($('remember').checked && apiKey()) localStorage.setItem(KEY_STORE, apiKey());
      if (!$('remember').checked) localStorage.removeItem(KEY_STORE);
    });
    try {
      const resp = await fetch('/web/config.json');
      if (resp.ok) config = { ...config, ...(await resp.json()) };
    } catch (_) { /* the defaults above */ }
    const lang = $('language');
    for (const code of config.languages) {
      const opt = document.createElement('option');
      opt.value = code;
      opt.textContent = code;
      opt.selected = code === 'eng';
      lang.append(opt);
    }
    for (const opt of $('engine').options) opt.disabled = !config.engines.includes(Number(opt.value));
    const stored = localStorage.getItem(KEY_STORE);
    if (stored) {
      $('apikey').value = stored;
      $('remember').checked = true;
    } else if (config.demoKey) {
      $('apikey').value = config.demoKey;
    }
    document.body.dataset.ready = 'true';
  }

  document.addEventListener('DOMContentLoaded', init);
})();
