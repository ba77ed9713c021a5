import { vi } from 'vitest';

// A stand-in for the server at the fetch boundary: answers by "METHOD /path"
// (query string ignored) with a status and a JSON body; unknown routes get 404.

export type Answer = { status?: number; body?: unknown } | ((init: RequestInit, url: URL) => { status?: number; body?: unknown });

export function mockApi(routes: Record<string, Answer>) {
  const spy = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost');
    const key = `${init.method ?? 'GET'} ${url.pathname}`;
    const route = routes[key];
    if (!route) return json(404, { success: false, error: { code: 'not_found', message: `no mock for ${key}` } });
    const { status = 200, body = {} } = typeof route === 'function' ? route(init, url) : route;
    return json(status, body);
  });
  vi.stubGlobal('fetch', spy);
  return spy;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** The JSON body of the first call to `METHOD path`. */
export function bodyOf(spy: ReturnType<typeof mockApi>, method: string, path: string): unknown {
  const call = spy.mock.calls.find(([input, init]) => (init?.method ?? 'GET') === method && new URL(String(input), 'http://localhost').pathname === path);
  return call?.[1]?.body ? JSON.parse(String(call[1].body)) : undefined;
}

export const ok = (data: unknown, status = 200) => ({ status, body: { success: true, data, message: 'ok' } });
export const fail = (status: number, code: string, message: string) => ({ status, body: { success: false, error: { code, message } } });

export const alice = { id: 'a'.repeat(24), email: 'alice@example.com', name: 'Alice', isAdmin: false, createdAt: '2026-01-01T00:00:00.000Z' };
export const bob = { id: 'b'.repeat(24), email: 'bob@example.com', name: null, isAdmin: false, createdAt: '2026-01-01T00:00:00.000Z' };
