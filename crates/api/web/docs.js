// /docs: renders the server's /openapi.json (OpenAPI 3) as a page: every
// path and method with its parameters, request body and responses, then the
// component schemas. No dependencies; every value is inserted as text.
'use strict';

(() => {
  const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
  let spec = {};

  /** Creates an element with a class and children (strings become text). */
  function el(tag, cls, ...children) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== ''));
    return node;
  }

  /** Follows a local `$ref` (`#/components/...`). */
  function deref(obj) {
    let seen = 0;
    while (obj && obj.$ref && seen++ < 20) {
      const path = obj.$ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      obj = path.reduce((o, k) => (o ? o[k] : undefined), spec);
    }
    return obj || {};
  }

  const refName = (ref) => ref.split('/').pop();
  const anchor = (name) => `schema-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

  /** A short type label: `string (binary)`, `array of Foo`, `integer, one of 1, 2`. */
  function typeLabel(schema) {
    if (!schema) return '';
    if (schema.$ref) {
      const a = el('a', null, refName(schema.$ref));
      a.href = `#${anchor(refName(schema.$ref))}`;
      return a;
    }
    const parts = [];
    let type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type || '';
    if (type === 'array' && schema.items) {
      const inner = typeLabel(schema.items);
      return el('span', null, 'array of ', inner);
    }
    if (schema.format) type += ` (${schema.format})`;
    parts.push(type || (schema.properties ? 'object' : 'any'));
    if (schema.enum) parts.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
    if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
    if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
    if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
    if (schema.nullable) parts.push('nullable');
    return parts.join(', ');
  }

  /** A schema as its type line and, below, its details. */
  function schemaNode(schema, depth = 0) {
    const box = el('div', 'schema', el('div', null, typeLabel(schema)));
    const more = details(schema, depth);
    if (more) box.append(more);
    return box;
  }

  /** What a schema has beyond its type label: description, alternatives, item shape, properties; null if nothing. */
  function details(schema, depth) {
    if (!schema || schema.$ref || depth > 8) return null;
    const box = el('div');
    if (schema.description) box.append(el('div', 'hint', schema.description));
    for (const key of ['oneOf', 'anyOf', 'allOf']) {
      if (!Array.isArray(schema[key])) continue;
      const list = el('ul');
      schema[key].forEach((s) => list.append(el('li', null, schemaNode(s, depth + 1))));
      box.append(el('div', null, { oneOf: 'one of:', anyOf: 'any of:', allOf: 'all of:' }[key]), list);
    }
    if (schema.type === 'array' && schema.items) {
      const inner = details(schema.items, depth + 1);
      if (inner) box.append(inner);
    }
    if (schema.properties) {
      const required = new Set(schema.required || []);
      const list = el('ul');
      for (const [name, prop] of Object.entries(schema.properties)) {
        const item = el('li', null, el('code', null, name), required.has(name) ? ' (required)' : '', ': ', typeLabel(prop));
        const more = details(prop, depth + 1);
        if (more) item.append(el('div', 'schema', more));
        list.append(item);
      }
      box.append(list);
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      box.append(el('div', null, 'other keys: ', schemaNode(schema.additionalProperties, depth + 1)));
    }
    if (schema.example !== undefined) box.append(el('div', 'hint', `example: ${JSON.stringify(schema.example)}`));
    return box.childNodes.length ? box : null;
  }

  /** The media types of a request body or response, each with its schema. */
  function contentNode(content) {
    const wrap = el('div');
    for (const [type, media] of Object.entries(content || {})) {
      wrap.append(el('div', null, el('code', null, type)), schemaNode(media.schema));
      if (media.example !== undefined) wrap.append(el('pre', 'hint', JSON.stringify(media.example, null, 2)));
    }
    return wrap;
  }

  function table(head, rows, cls) {
    const t = el('table', cls);
    const tr = t.createTHead().insertRow();
    head.forEach((h) => { const th = el('th', null, h); th.scope = 'col'; tr.append(th); });
    const body = t.createTBody();
    rows.forEach((cells) => { const r = body.insertRow(); cells.forEach((c) => r.insertCell().append(c)); });
    return t;
  }

  function operationNode(path, method, op, shared) {
    const id = `op-${method}-${path.replace(/[^A-Za-z0-9]/g, '_')}`;
    const h = el('h3', null, el('span', `method ${method}`, method), el('code', null, path), op.summary || '');
    const section = el('section', 'doc-op', h);
    section.id = id;
    section.setAttribute('aria-label', `${method.toUpperCase()} ${path}`);
    if (op.description) section.append(el('p', null, op.description));
    if (op.deprecated) section.append(el('p', 'error', 'Deprecated.'));
    const params = [...(shared || []), ...(op.parameters || [])].map(deref);
    if (params.length) {
      section.append(el('h4', null, 'Parameters'), table(['name', 'in', 'type', 'description'], params.map((p) => [
        el('span', null, el('code', null, p.name), p.required ? ' (required)' : ''),
        p.in || '',
        el('span', null, typeLabel(p.schema)),
        p.description || '',
      ]), 'params'));
    }
    if (op.requestBody) {
      const rb = deref(op.requestBody);
      section.append(el('h4', null, `Request body${rb.required ? ' (required)' : ''}`));
      if (rb.description) section.append(el('p', null, rb.description));
      section.append(contentNode(rb.content));
    }
    if (op.responses) {
      section.append(el('h4', null, 'Responses'), table(['status', 'description and body'], Object.entries(op.responses).map(([code, r]) => {
        const resp = deref(r);
        return [el('code', null, code), el('div', null, resp.description || '', contentNode(resp.content))];
      })));
    }
    return { section, id, label: `${method.toUpperCase()} ${path}${op.summary ? ` — ${op.summary}` : ''}` };
  }

  function render() {
    const main = document.getElementById('doc');
    main.replaceChildren();
    const info = spec.info || {};
    const title = `${info.title || 'API'}${info.version ? ` ${info.version}` : ''}`;
    document.getElementById('title').textContent = title;
    document.title = `${title} · API reference`;
    if (info.description) main.append(el('p', null, info.description));
    (spec.servers || []).forEach((s) => main.append(el('p', 'hint', 'Server: ', el('code', null, s.url), s.description ? ` (${s.description})` : '')));
    const toc = el('ul', 'toc');
    const ops = [];
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        if (item[method]) ops.push(operationNode(path, method, item[method], item.parameters));
      }
    }
    ops.forEach(({ id, label }) => { const a = el('a', null, label); a.href = `#${id}`; toc.append(el('li', null, a)); });
    main.append(el('nav', null, el('h2', null, 'Endpoints'), toc), ...ops.map((o) => o.section));
    const schemas = (spec.components && spec.components.schemas) || {};
    if (Object.keys(schemas).length) {
      main.append(el('h2', null, 'Schemas'));
      for (const [name, schema] of Object.entries(schemas)) {
        const section = el('section', 'doc-op', el('h3', null, el('code', null, name)), schemaNode(schema));
        section.id = anchor(name);
        main.append(section);
      }
    }
    main.setAttribute('aria-busy', 'false');
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  }

  document.addEventListener('DOMContentLoaded', async () => {
    const status = document.getElementById('doc-status');
    try {
      const resp = await fetch('/openapi.json');
      if (!resp.ok) throw new Error(`the server answered ${resp.status} to /openapi.json`);
      spec = await resp.json();
      render();
    } catch (err) {
      status.textContent = `No API description to show: ${err.message}. docs/api.md describes the API.`;
      document.getElementById('doc').setAttribute('aria-busy', 'false');
    }
  });
})();
