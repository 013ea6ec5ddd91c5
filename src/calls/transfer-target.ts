import type { TransferTarget } from '../pbx/index.ts';

/**
 * `target` from a flow: `context,extension[,priority]` is a dialplan location, something with `/` or `@` a dial
 * string (PJSIP/..., sofia/...); a bare name (`agents`) or nothing means the agent destination configured for
 * the PBX.
 */
export function parseTransferTarget(target: string | undefined): TransferTarget | undefined {
  if (!target) return undefined;
  const parts = target.split(',');
  if (parts.length >= 2) return { kind: 'dialplan', context: parts[0]!, extension: parts[1]!, priority: parts[2] ? Number(parts[2]) : undefined };
  if (/[/@]/.test(target)) return { kind: 'endpoint', endpoint: target };
  return undefined;
}
