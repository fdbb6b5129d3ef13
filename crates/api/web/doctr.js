// The second tab of the page at /: docTR-style results of POST /ocr (pages >
// blocks > lines > words) and POST /kie (extracted fields), each with its
// boxes drawn over the page. Geometry is normalised to the page (0..1):
// [x_min, y_min, x_max, y_max], two corner points, or a 4-point polygon
// (drawn as the box around it). The tab stays hidden while the server
// answers 404/405 to /ocr.
'use strict';

(() => {
  const P = () => window.OcrPage;

  /** The box of a docTR geometry as {x0, y0, x1, y1}, or null. */
  function bbox(geometry) {
    if (!Array.isArray(geometry) || !geometry.length) return null;
    const points = Array.isArray(geometry[0])
      ? geometry
      : geometry.length >= 4 && geometry.length % 2 === 0
        ? geometry.reduce((acc, v, i) => (i % 2 ? acc[acc.length - 1].push(v) : acc.push([v]), acc), [])
        : null;
    if (!points) return null;
    const xs = points.map((p) => Number(p[0]));
    const ys = points.map((p) => Number(p[1]));
    if (xs.some(Number.isNaN) || ys.some(Number.isNaN)) return null;
    return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
  }

  const pct = (c) => (typeof c === 'number' ? `${(c * 100).toFixed(1)} %` : '');

  /** The fields of a /kie page (or document) as a flat list {name, value, confidence, geometry, page}. */
  function fieldsOf(holder) {
    const raw = holder.extracted_fields ?? holder.predictions ?? null;
    const out = [];
    const push = (name, v) => {
      if (v && typeof v === 'object') {
        out.push({ name, value: v.value ?? v.text ?? '', confidence: v.confidence, geometry: v.geometry, page: v.page ?? 0 });
      } else if (v !== undefined && v !== null) {
        out.push({ name, value: String(v), page: 0 });
      }
    };
    const each = (name, entry) => {
      const values = entry && typeof entry === 'object' && !Array.isArray(entry) && (entry.values || entry.items)
        ? entry.values || entry.items
        : entry;
      if (Array.isArray(values)) values.forEach((v) => push(name, v));
      else push(name, values);
    };
    if (Array.isArray(raw)) raw.forEach((f) => each(f.field_type ?? f.class_name ?? f.name ?? f.key ?? '?', f));
    else if (raw && typeof raw === 'object') Object.entries(raw).forEach(([name, entry]) => each(name, entry));
    return out;
  }

  /** Every page of every document in the response, with what to draw on it. */
  function pagesOf(docs, files, kie) {
    const pages = [];
    docs.forEach((doc, d) => {
      const docPages = doc.pages ?? doc.items ?? [];
      // Fields sit on each page (`pages[].extracted_fields`) or, in other servers' shape, on the document.
      const docFields = kie ? fieldsOf(doc) : [];
      const count = Math.max(docPages.length, 1 + Math.max(-1, ...docFields.map((f) => f.page)));
      for (let p = 0; p < count; p++) {
        const page = docPages[p] || {};
        const fields = kie ? [...fieldsOf(page).map((f) => ({ ...f, page: p })), ...docFields] : [];
        const rows = [];
        const boxes = [];
        const add = (name, value, confidence, geometry, cls) => {
          const b = bbox(geometry);
          rows.push({ name, value, confidence, box: b ? boxes.length : -1 });
          if (b) boxes.push({ ...b, text: String(value), detail: confidence !== undefined ? `${name}, confidence ${pct(confidence)}` : name, group: rows.length - 1, cls });
        };
        if (kie) {
          fields.filter((f) => (f.page ?? 0) === p).forEach((f) => add(f.name, f.value, f.confidence, f.geometry, 'field-box'));
        } else {
          (page.blocks || []).forEach((block, bi) => (block.lines || []).forEach((line, li) => (line.words || [])
            .forEach((w) => add(`block ${bi + 1}, line ${li + 1}`, w.value, w.confidence, w.geometry))));
        }
        const dims = page.dimensions || doc.dimensions; // docTR: (height, width)
        const turn = Number(page.orientation?.value ?? (p === 0 ? doc.orientation?.value : 0)) || 0;
        pages.push({ name: doc.name || files[d]?.name || `file ${d + 1}`, file: files[d], index: p, rows, boxes, dims, turn });
      }
    });
    return pages;
  }

  function errorText(json, resp, text) {
    if (typeof json === 'string') return [json];
    if (json && typeof json === 'object') {
      if (json.ErrorMessage) return [].concat(json.ErrorMessage);
      if (typeof json.detail === 'string') return [json.detail];
      if (Array.isArray(json.detail)) return json.detail.map((d) => d.msg || JSON.stringify(d));
      if (json.error || json.message) return [json.error || json.message];
    }
    return [`HTTP ${resp.status}: ${String(text).slice(0, 500)}`];
  }

  async function show(page, images) {
    const { $, drawPage } = P();
    const image = page.index === 0 ? images.get(page.file) : null;
    // The clockwise turn the server applied (orientation -90 is a turn of 270).
    const turn = ((page.turn % 360) + 360) % 360;
    let width = 1000;
    let height = 1414;
    if (Array.isArray(page.dims) && page.dims.length === 2) {
      [height, width] = page.dims.map(Number);
    } else if (image) {
      [width, height] = turn % 180 ? [image.naturalHeight, image.naturalWidth] : [image.naturalWidth, image.naturalHeight];
    }
    $('doctr-page-note').textContent = `${page.name}, page ${page.index + 1}.` + (image ? ''
      : ' The browser cannot show this page (a PDF page or an unsupported image), so the boxes are drawn on a blank page of its size.');
    const tbody = $('doctr-list').tBodies[0];
    tbody.replaceChildren();
    const rowEls = page.rows.map((r) => {
      const tr = tbody.insertRow();
      [r.name, r.value, pct(r.confidence)].forEach((v) => { tr.insertCell().textContent = v; });
      return tr;
    });
    if (!page.rows.length) tbody.insertRow().insertCell().textContent = 'Nothing found on this page.';
    const els = drawPage($('doctr-viewer'), {
      image, width, height, rotate: turn, boxes: page.boxes,
      onFocus: (b, on) => {
        const tr = rowEls[b.group];
        if (!tr) return;
        tr.classList.toggle('hl', on);
        if (on) tr.scrollIntoView({ block: 'nearest' });
      },
    });
    page.rows.forEach((r, i) => {
      const el = els[r.box];
      if (!el) return;
      rowEls[i].addEventListener('mouseenter', () => el.classList.add('hl'));
      rowEls[i].addEventListener('mouseleave', () => el.classList.remove('hl'));
    });
  }

  async function submit(e) {
    e.preventDefault();
    const { $, showError, apiKey, readBody, loadImage, pager } = P();
    const files = Array.from($('doctr-files').files);
    const endpoint = document.querySelector('input[name=endpoint]:checked').value;
    const body = new FormData();
    files.forEach((f) => body.append('files', f, f.name));
    const key = apiKey();
    showError($('doctr-error'), []);
    $('doctr-result').hidden = true;
    $('doctr-submit').disabled = true;
    $('doctr-status').textContent = 'Reading…';
    let resp;
    try {
      resp = await fetch(endpoint, { method: 'POST', body, headers: key ? { apikey: key } : {} });
    } catch (err) {
      showError($('doctr-error'), [`The server did not answer: ${err.message}`]);
      return;
    } finally {
      $('doctr-submit').disabled = false;
      $('doctr-status').textContent = '';
    }
    const { body: json, text } = await readBody(resp);
    $('doctr-json').textContent = text;
    if (!resp.ok || !json || typeof json !== 'object') {
      showError($('doctr-error'), errorText(json, resp, text));
      return;
    }
    const docs = Array.isArray(json) ? json : json.documents ?? [json];
    const kie = endpoint === '/kie';
    $('doctr-list-title').textContent = kie ? 'Extracted fields' : 'Words';
    $('doctr-list').tHead.rows[0].cells[0].textContent = kie ? 'Field' : 'Where';
    const pages = pagesOf(docs, files, kie);
    const images = new Map();
    for (const f of files) images.set(f, f.type.startsWith('image/') ? await loadImage(URL.createObjectURL(f)) : null);
    $('doctr-result').hidden = false;
    if (!pages.length) { showError($('doctr-error'), ['The response holds no pages.']); return; }
    pager($('doctr-prev'), $('doctr-next'), $('doctr-page-label'), pages.length, (i) => show(pages[i], images));
  }

  /** Shows the tab only when the server has /ocr (anything but 404/405 to an empty POST). */
  async function probe() {
    try {
      const resp = await fetch('/ocr', { method: 'POST', body: new FormData() });
      if (resp.status !== 404 && resp.status !== 405) P().$('tab-doctr').hidden = false;
    } catch (_) { /* stays hidden */ }
  }

  document.addEventListener('DOMContentLoaded', () => {
    const { $, setupDrop, copyText } = P();
    setupDrop($('doctr-drop'), $('doctr-files'), $('doctr-file-name'));
    $('doctr-form').addEventListener('submit', submit);
    $('doctr-copy').addEventListener('click', () => copyText($('doctr-json').textContent, $('doctr-copied')));
    probe();
  });
})();
