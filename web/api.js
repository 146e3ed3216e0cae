// The JSON API with the session's bearer token (kept in sessionStorage: one
// tab, gone when the browser closes).

const KEY = 'hotline.session';

/** An error answer of the API: `status`, `code`, `field`, `message`. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || null;
    this.field = e.field || null;
  }
}

/** The signed-in session `{token, role, user, unit, expires_at}` or null. */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && s.expires_at && Date.parse(s.expires_at) <= Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

/** Logs in; the session. Throws ApiError on a wrong password. */
export async function login(user, password) {
  const resp = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password }),
  });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, body);
  const s = { token: body.token, role: body.role, unit: body.unit || null, expires_at: body.expires_at, user };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function logout() {
  sessionStorage.removeItem(KEY);
}

const listeners = [];
/** `fn()` runs when the API says the session is no longer valid (401). */
export function onUnauthorised(fn) {
  listeners.push(fn);
}

async function request(method, path, body, accept) {
  const s = session();
  const headers = {};
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accept) headers.accept = accept;
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401) {
    logout();
    listeners.forEach((fn) => fn());
  }
  return resp;
}

/** `method path` with a JSON body; the JSON answer (null when empty). */
export async function api(method, path, body) {
  const resp = await request(method, path, body);
  const text = await resp.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!resp.ok) throw new ApiError(resp.status, json);
  return json;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});

/** A query string of the non-empty values of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && String(v).trim() !== '') q.set(k, String(v).trim());
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
