import { parseArgs } from 'node:util';
import { CLI_ACTOR, createAuth, GRANTS, parseExpiry, ROLES, TokenError, type TokenInfo } from '../auth/index.ts';
import { loadConfigWithSource } from '../config/index.ts';
import { openStore } from '../store/index.ts';

export const TOKENS_USAGE = `callpilot tokens — API tokens (they sign in to the console and authorize the API)

Usage:
  callpilot tokens create --role ROLE [--name NAME] [--expires 30d|12h|ISO-DATE] [--grant unmask] [--config FILE]
      prints the new token ONCE; only its hash is stored
  callpilot tokens list [--config FILE]
  callpilot tokens revoke ID [--config FILE]
      the token stops working at once, and its console sessions end

Roles: ${ROLES.join(', ')}
  admin     everything: calls, campaigns, tokens, configuration, full numbers
  operator  calls, campaigns, live monitoring; numbers masked
  auditor   read-only: calls, transcripts, recordings, QA, audit log; numbers masked unless --grant unmask
  pbx       the media/ESL endpoints a PBX connects to
Grants: ${GRANTS.join(', ')} (repeat --grant for several)

The command works on the store the config names (store.path), so run it where callpilot runs.
Every create and revoke is written to the audit log.
`;

/** `callpilot tokens ...`; returns the exit code. */
export async function runTokensCommand(args: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    out(TOKENS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      expires: { type: 'string' },
      grant: { type: 'string', multiple: true },
    },
  });
  const { config } = loadConfigWithSource({ path: values.config });
  const store = await openStore(config.store);
  try {
    const auth = createAuth(store);
    switch (sub) {
      case 'create': {
        if (!values.role) {
          err(`--role is required (${ROLES.join(', ')})\n`);
          err(TOKENS_USAGE);
          return 2;
        }
        const { token, info } = await auth.tokens.create({
          role: values.role,
          name: values.name,
          grants: values.grant,
          expiresAt: values.expires ? parseExpiry(values.expires) : undefined,
          createdBy: CLI_ACTOR.name,
        });
        await auth.audit.record(CLI_ACTOR, 'token.create', info.id, { name: info.name, role: info.role, grants: info.grants, expiresAt: info.expiresAt ?? null });
        out(`created ${info.id} "${info.name}" role ${info.role}${info.grants.length ? ` grants ${info.grants.join(',')}` : ''}${info.expiresAt ? ` expires ${info.expiresAt}` : ''}`);
        out('token (shown only now; store it in a password manager or secret store):');
        out(token);
        return 0;
      }
      case 'list': {
        const tokens = await auth.tokens.list();
        if (tokens.length === 0) {
          out('no tokens; create one with: callpilot tokens create --role admin --name <you>');
          return 0;
        }
        for (const t of tokens) out(describe(t));
        return 0;
      }
      case 'revoke': {
        const id = positionals[0];
        if (!id) {
          err('usage: callpilot tokens revoke ID (see callpilot tokens list)');
          return 2;
        }
        const existing = await auth.tokens.get(id);
        if (!existing) {
          err(`no token ${id} (see callpilot tokens list)`);
          return 1;
        }
        if (!(await auth.tokens.revoke(id))) {
          err(`token ${id} was already revoked`);
          return 1;
        }
        await auth.audit.record(CLI_ACTOR, 'token.revoke', id, { name: existing.name, role: existing.role });
        out(`revoked ${id} "${existing.name}"`);
        return 0;
      }
      default:
        err(`unknown tokens command: ${sub}\n`);
        err(TOKENS_USAGE);
        return 2;
    }
  } catch (e) {
    if (e instanceof TokenError) {
      err(`callpilot tokens ${sub}: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    await store.close();
  }
}

function describe(t: TokenInfo): string {
  const parts = [t.id.padEnd(16), t.state.padEnd(8), t.role.padEnd(9), JSON.stringify(t.name)];
  if (t.grants.length) parts.push(`grants=${t.grants.join(',')}`);
  parts.push(`created=${t.createdAt}`);
  if (t.expiresAt) parts.push(`expires=${t.expiresAt}`);
  if (t.revokedAt) parts.push(`revoked=${t.revokedAt}`);
  if (t.lastUsedAt) parts.push(`lastUsed=${t.lastUsedAt}`);
  return parts.join('  ');
}
