/**
 * What a dial string given to `POST /api/calls` (or a campaign) names, before anything is dialled: the parts the
 * PBX can be asked about, or why it cannot be dialled at all. Each adapter's `checkEndpoint` builds on these.
 */

/** An Asterisk dial string (ARI originate `endpoint`), taken apart. */
export type AsteriskDialTarget =
  /** A configured endpoint object ARI can be asked about (`GET /endpoints/{tech}/{resource}`). */
  | { kind: 'endpoint'; tech: string; resource: string }
  /** Dialled by host name or address (`IAX2/10.0.0.5/100`, `SIP/carrier.example/100`): no object to look up. */
  | { kind: 'host'; tech: string; host: string }
  /** `Local/exten@context`: runs a dialplan location; ARI has no way to ask whether it exists. */
  | { kind: 'local'; extension: string; context: string }
  /** Any other technology (DAHDI, WebSocket, AudioSocket, Motif, ...): channel drivers without ARI endpoints. */
  | { kind: 'other'; tech: string }
  /** Not a dial string Asterisk can originate: refused as a bad request. */
  | { kind: 'invalid'; reason: string };

/** Technologies whose dial strings name an ARI endpoint object (or a host, dialled directly). */
const ENDPOINT_TECHS = new Set(['PJSIP', 'SIP', 'IAX2']);
const NAME = /^[A-Za-z0-9_.+-]+$/;

/**
 * `PJSIP/trunk`, `PJSIP/13800138000@trunk` and `PJSIP/trunk/sip:13800138000@carrier` all dial through endpoint
 * `trunk`; `SIP/trunk/13800138000` through `trunk`; `IAX2/user:secret@peer/100` through `peer`; `IAX2/10.0.0.5/100`
 * straight to a host. ARI originates exactly one `tech/resource` (no `&` list as in Dial()).
 */
export function parseAsteriskDialString(dial: string): AsteriskDialTarget {
  const text = dial.trim();
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) return { kind: 'invalid', reason: `'${dial}' is not TECH/resource (e.g. PJSIP/13800138000@trunk or Local/100@from-internal)` };
  if (text.includes('&')) return { kind: 'invalid', reason: 'ARI originates one endpoint; a Dial()-style list with & cannot be dialled' };
  const tech = text.slice(0, slash);
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(tech)) return { kind: 'invalid', reason: `'${tech}' is not a channel technology` };
  const rest = text.slice(slash + 1);
  if (tech.toLowerCase() === 'local') {
    const [where = ''] = rest.split('/');
    const at = where.lastIndexOf('@');
    const extension = at >= 0 ? where.slice(0, at) : where;
    // chan_local: the context defaults to `default` when none is given.
    const context = at >= 0 ? where.slice(at + 1) : 'default';
    if (!extension || !context) return { kind: 'invalid', reason: `'${dial}' is not Local/exten@context` };
    return { kind: 'local', extension, context };
  }
  if (!ENDPOINT_TECHS.has(tech.toUpperCase())) return { kind: 'other', tech };
  const firstPart = rest.split('/')[0] ?? '';
  let resource = firstPart.includes('@') ? firstPart.slice(firstPart.lastIndexOf('@') + 1) : firstPart;
  // IAX2/SIP peers may carry a port (`peer:4569`); a peer's name never does.
  const port = /^(.*):(\d+)$/.exec(resource);
  if (port) resource = port[1] ?? resource;
  if (!resource || !NAME.test(resource)) return { kind: 'invalid', reason: `'${dial}' names no ${tech} endpoint` };
  // PJSIP dials only configured endpoints; chan_iax2 and chan_sip also dial a host name or address directly.
  if (tech.toUpperCase() !== 'PJSIP' && (resource.includes('.') || port || resource === 'localhost')) return { kind: 'host', tech, host: resource };
  return { kind: 'endpoint', tech, resource };
}

/** One leg of a FreeSWITCH dial string (`originate` / `bridge` syntax), taken apart. */
export type FreeswitchDialLeg =
  /** `sofia/gateway/<gateway>/<destination>`: through a configured gateway. */
  | { kind: 'gateway'; gateway: string; destination: string }
  /** `sofia/<profile>/<destination>`: straight out of a SIP profile (`sofia/external/13800138000@carrier`). */
  | { kind: 'profile'; profile: string; destination: string }
  /** Any other endpoint module: `user/1000`, `loopback/100/default`, `group/agents`, `freetdm/1/a/...`, ... */
  | { kind: 'other'; module: string };

export type FreeswitchDialTarget = { kind: 'legs'; legs: FreeswitchDialLeg[] } | { kind: 'invalid'; reason: string };

/**
 * FreeSWITCH's dial string: optional channel variables in `{...}` (all legs), `<...>` and `[...]` (one leg), legs
 * separated by `,` (rung together) or `|` (one after the other), each `module/args`.
 */
export function parseFreeswitchDialString(dial: string): FreeswitchDialTarget {
  const text = stripVariables(dial.trim());
  if (text === undefined) return { kind: 'invalid', reason: `unbalanced {...}, <...> or [...] in '${dial}'` };
  if (!text) return { kind: 'invalid', reason: 'empty dial string' };
  const legs: FreeswitchDialLeg[] = [];
  for (const raw of splitLegs(text)) {
    const leg = stripVariables(raw.trim());
    if (leg === undefined || !leg) return { kind: 'invalid', reason: `empty leg in '${dial}'` };
    const slash = leg.indexOf('/');
    if (slash <= 0 || slash === leg.length - 1) {
      return { kind: 'invalid', reason: `'${leg}' is not module/args (e.g. sofia/gateway/carrier/13800138000 or user/1000)` };
    }
    const module = leg.slice(0, slash);
    if (!/^[A-Za-z][A-Za-z0-9_.]*$/.test(module)) return { kind: 'invalid', reason: `'${module}' is not a FreeSWITCH endpoint module` };
    const args = leg.slice(slash + 1).split('/');
    if (module.toLowerCase() === 'sofia') {
      if (args[0] === 'gateway') {
        const [, gateway = '', ...dest] = args;
        if (!gateway || dest.join('/') === '') return { kind: 'invalid', reason: `'${leg}' is not sofia/gateway/<gateway>/<destination>` };
        legs.push({ kind: 'gateway', gateway, destination: dest.join('/') });
      } else {
        const [profile = '', ...dest] = args;
        if (!profile || dest.join('/') === '') return { kind: 'invalid', reason: `'${leg}' is not sofia/<profile>/<destination>` };
        legs.push({ kind: 'profile', profile, destination: dest.join('/') });
      }
      continue;
    }
    legs.push({ kind: 'other', module });
  }
  return { kind: 'legs', legs };
}

/** Removes leading `{...}`, `<...>` and `[...]` variable blocks; undefined when one is not closed. */
function stripVariables(text: string): string | undefined {
  let out = text;
  for (;;) {
    const close = out.startsWith('{') ? '}' : out.startsWith('<') ? '>' : out.startsWith('[') ? ']' : undefined;
    if (!close) return out;
    const end = out.indexOf(close);
    if (end < 0) return undefined;
    out = out.slice(end + 1).trimStart();
  }
}

/** Splits on `,` and `|` outside variable blocks (whose values may contain either). */
function splitLegs(text: string): string[] {
  const legs: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{' || ch === '<' || ch === '[') depth++;
    else if (ch === '}' || ch === '>' || ch === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (ch === ',' || ch === '|')) {
      legs.push(text.slice(start, i));
      start = i + 1;
    }
  }
  legs.push(text.slice(start));
  return legs;
}
