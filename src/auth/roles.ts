/** Who may do what. Every HTTP route and WebSocket endpoint names the roles it admits (or `public`). */
export const ROLES = ['admin', 'operator', 'auditor', 'pbx'] as const;
export type Role = (typeof ROLES)[number];

/** Extra rights a token can carry beyond its role. `unmask`: see phone numbers in full (each such read is audited). */
export const GRANTS = ['unmask'] as const;
export type Grant = (typeof GRANTS)[number];

/** What a route declares in its fastify options: `config: { roles: [...] }`. */
export type RouteAccess = readonly Role[] | 'public';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isGrant(value: unknown): value is Grant {
  return typeof value === 'string' && (GRANTS as readonly string[]).includes(value);
}

/** Who is making a request: the token behind a bearer header, a console session or a PBX media URL. */
export interface Principal {
  tokenId: string;
  /** The token's name, as shown in the audit log. */
  name: string;
  role: Role;
  grants: readonly Grant[];
  via: 'bearer' | 'session' | 'media-token';
}

/** Common role sets, so route declarations read the same everywhere. */
export const ROLE_SETS = {
  /** Read calls, transcripts, recordings. */
  readCalls: ['admin', 'operator', 'auditor'],
  /** Place calls, run campaigns, live monitoring. */
  operate: ['admin', 'operator'],
  /** Audit log. */
  audit: ['admin', 'auditor'],
  /** Tokens and configuration. */
  admin: ['admin'],
  /** Any signed-in console user (session info, logout). */
  anyUser: ['admin', 'operator', 'auditor'],
} as const satisfies Record<string, readonly Role[]>;

/** Whether `principal` may see phone numbers in full: admins always, others only with the `unmask` grant. */
export function mayUnmask(principal: Principal | undefined): boolean {
  if (!principal) return false;
  return principal.role === 'admin' || principal.grants.includes('unmask');
}

export function allows(access: RouteAccess, principal: Principal | undefined): boolean {
  if (access === 'public') return true;
  return principal !== undefined && access.includes(principal.role);
}
