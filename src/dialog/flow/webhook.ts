import type { WebhookDefinition } from './schema.ts';

export type WebhookOutcome =
  | { kind: 'ok'; status: number; json: unknown }
  | { kind: 'timeout' }
  | { kind: 'error'; detail: string };

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Reads a dot path ("data.status", "items.0.id") out of a JSON value. */
export function jsonPath(value: unknown, path: string): unknown {
  let v = value;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** Calls a flow's webhook with its own timeout. Never throws: the flow branches on the outcome. */
export async function callWebhook(
  hook: WebhookDefinition,
  rendered: { url: string; headers: Record<string, string>; body?: Record<string, string> },
  fetchImpl: FetchLike,
): Promise<WebhookOutcome> {
  const headers: Record<string, string> = { accept: 'application/json', ...rendered.headers };
  let url = rendered.url;
  let body: string | undefined;
  if (hook.method === 'POST') {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(rendered.body ?? {});
  } else if (rendered.body) {
    const q = new URLSearchParams(rendered.body).toString();
    url += (url.includes('?') ? '&' : '?') + q;
  }
  try {
    const res = await fetchImpl(url, { method: hook.method, headers, body, signal: AbortSignal.timeout(hook.timeout_ms) });
    if (!res.ok) {
      await res.body?.cancel();
      return { kind: 'error', detail: `HTTP ${res.status}` };
    }
    const text = await res.text();
    try {
      return { kind: 'ok', status: res.status, json: text.length > 0 ? JSON.parse(text) : null };
    } catch {
      return { kind: 'error', detail: 'response is not JSON' };
    }
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout' };
    return { kind: 'error', detail: e.message };
  }
}

/** The first branch whose condition holds for the JSON result. */
export function chooseBranch(hook: WebhookDefinition, json: unknown): string | undefined {
  for (const b of hook.branches) {
    const v = jsonPath(json, b.when.path);
    const { equals, exists } = b.when;
    if (exists !== undefined && (v !== undefined && v !== null) !== exists) continue;
    if (equals !== undefined && String(v) !== String(equals)) continue;
    if (b.when.in !== undefined && !b.when.in.some((x) => String(x) === String(v))) continue;
    if (exists === undefined && equals === undefined && b.when.in === undefined && (v === undefined || v === null || v === false)) continue;
    return b.goto;
  }
  return hook.default;
}
