/** Credentials for tests: every route needs a token now (issue 9), and these make one in the app's own store. */
import { createAuth, type Grant, type Role } from '../../src/auth/index.ts';
import type { Store } from '../../src/store/index.ts';

/** Creates a token of `role` in `store` and returns its secret (what a client sends as `Authorization: Bearer`). */
export async function issueToken(store: Pick<Store, 'tokens' | 'audit'>, role: Role = 'admin', opts: { name?: string; grants?: Grant[] } = {}): Promise<string> {
  const { token } = await createAuth(store).tokens.create({ role, name: opts.name ?? `test-${role}`, grants: opts.grants });
  return token;
}

/** `{ authorization: 'Bearer ...' }`, for fetch and ws headers. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** fetch with the token's Authorization header added. */
export function authedFetch(token: string): (url: string, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) => fetch(url, { ...init, headers: { ...bearer(token), ...(init.headers as Record<string, string> | undefined) } });
}
