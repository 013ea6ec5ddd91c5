/** Authentication and authorization: roles, API tokens, PBX media tokens and the audit log. */
export { ROLES, GRANTS, ROLE_SETS, isRole, isGrant, mayUnmask, allows, type Role, type Grant, type RouteAccess, type Principal } from './roles.ts';
export {
  TokenService,
  TokenError,
  TOKEN_PREFIX,
  hashSecret,
  parseExpiry,
  type TokenInfo,
  type CreateTokenRequest,
  type TokenServiceOptions,
} from './token-service.ts';
export { AuditLog, CLI_ACTOR, SYSTEM_ACTOR, type AuditActor, type AuditAction } from './audit-log.ts';
export { MediaTokens } from './media-tokens.ts';
export { MEDIA_TOKEN_PARAM } from '../core/index.ts';
export { createAuth, type Auth } from './auth.ts';
