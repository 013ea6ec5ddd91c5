import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseYaml } from 'yaml';
import type { CampaignStatsView } from '../campaign/index.ts';
import { loadConfig } from '../config/index.ts';
import type { CampaignRecord } from '../store/index.ts';
import { HelpRequested, parseCommandArgs, UsageError } from './cli-args.ts';

/*
 * `callpilot campaign ...` talks to the RUNNING server's REST API with a token, never to the store directly: the
 * server owns the dialer (a state change must reach it within a tick, on every node), the API enforces the roles
 * (operators run campaigns, auditors only read) and writes the audit log, and with PostgreSQL or a SQLite file held
 * by the server a second writer would bypass all of that. This is what kubectl/asterisk -rx users expect.
 */

export const CAMPAIGN_USAGE = `usage: callpilot campaign <command> [options]

Runs outbound campaigns on a running callpilot through its REST API (docs/campaigns.md).

Commands:
  create FILE [--name N] [--flow F] [--lang zh|en] [--profile P] [--dial-pattern P] [--trunk T] [--cps N]
         [--max-concurrent N]      create a campaign (draft) from a YAML/JSON file ("-" = stdin) and/or flags
  import ID FILE [--rejects OUT.csv]
                                   upload a contact list (CSV in UTF-8/GBK, or XLSX) with a progress bar; prints
                                   accepted/rejected and the rejected rows (row, column, reason)
  start ID | pause ID | resume ID | stop ID
                                   change the campaign's state (takes effect within a second; live calls go on)
  status [ID]                      all campaigns, or one with its live statistics
  export ID [--out FILE] [--unmask]
                                   every attempt's outcome as CSV (stdout without --out); numbers masked unless
                                   --unmask (admins and tokens with the unmask grant only; the server audits it)

Options for every command:
  --url URL       callpilot to talk to (default: $CALLPILOT_URL, else http://<server.host>:<server.port> of --config)
  --token TOKEN   API token (default: $CALLPILOT_TOKEN); operator or admin to change, auditor to read
  --config FILE   config file giving the server address
  --json          print the server's JSON instead of text

Exit: 0 done, 1 the server refused or failed (its message is printed), 2 usage error.`;

const common = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const createOptions = {
  ...common,
  name: { type: 'string' },
  flow: { type: 'string' },
  lang: { type: 'string' },
  profile: { type: 'string' },
  'dial-pattern': { type: 'string' },
  trunk: { type: 'string' },
  cps: { type: 'string' },
  'max-concurrent': { type: 'string' },
} as const;

export interface CampaignIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress output (a TTY gets a redrawn bar; anything else one line per 10 %). */
  progress?: (text: string, done: boolean) => void;
  /** stdin for `create -`. */
  stdin?: () => Promise<string>;
}

/** The server answered with an error: exit 1 with its message. */
class ApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Connection {
  base: string;
  token: string;
  json: boolean;
}

function connection(values: { url?: string; token?: string; config?: string; json?: boolean }): Connection {
  let base = values.url ?? process.env.CALLPILOT_URL;
  if (!base) {
    const config = loadConfig({ path: values.config });
    const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
    base = `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
  }
  if (!/^https?:\/\/[^\s/]+/.test(base)) throw new UsageError(`--url must be http(s)://host:port, got "${base}"`, CAMPAIGN_USAGE);
  const token = values.token ?? process.env.CALLPILOT_TOKEN;
  if (!token) throw new UsageError('no API token: pass --token or set CALLPILOT_TOKEN (create one with: callpilot tokens create --role operator)', CAMPAIGN_USAGE);
  return { base: base.replace(/\/+$/, ''), token, json: values.json === true };
}

async function request(c: Connection, method: string, path: string, body?: { type: string; data: string | ReadableStream<Uint8Array>; length?: number }): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${c.token}` };
  if (body) headers['content-type'] = body.type;
  if (body?.length !== undefined) headers['content-length'] = String(body.length);
  let res: Response;
  try {
    res = await fetch(`${c.base}${path}`, { method, headers, body: body?.data, ...(body?.data instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ApiError(`cannot reach callpilot at ${c.base}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is it running? --url)`);
  }
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      const j = JSON.parse(text) as { error?: string; message?: string };
      message = j.error ?? j.message ?? text;
    } catch {
      /* not JSON: the text itself */
    }
    if (res.status === 401) throw new ApiError(`the token was refused (401): ${message}`);
    if (res.status === 403) throw new ApiError(`this token's role may not do that (403): ${message}`);
    throw new ApiError(`${method} ${path}: ${res.status} ${message}`);
  }
  return res;
}

const idPattern = /^[A-Za-z0-9_]{1,64}$/;

function campaignId(positionals: string[], usage: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError('missing campaign id (see: callpilot campaign status)', usage);
  if (!idPattern.test(id)) throw new UsageError(`"${id}" is not a campaign id`, usage);
  return id;
}

function numberOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || v.trim() === '') throw new UsageError(`--${name} needs a number, got "${v}"`, CAMPAIGN_USAGE);
  return n;
}

/** What the API sends back: the store's and service's own types, so the CLI cannot drift from them. */
type CampaignJson = Pick<CampaignRecord, 'id' | 'name' | 'state' | 'flow' | 'lang' | 'profile' | 'trunk' | 'cps' | 'maxConcurrent'>;
type StatsJson = CampaignStatsView;

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** Terminal columns: Han characters and full-width forms take two. */
function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return w;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => displayWidth(r[i] ?? ''))));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - displayWidth(cell)))).join('  '));
}

/** A text bar: `[#####.....]  52 %  1.2/2.3 MB`. */
export function progressBar(done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const fill = Math.round(frac * width);
  const mb = (n: number): string => (n / 1048576).toFixed(n < 10 * 1048576 ? 2 : 1);
  return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.round(frac * 100)).padStart(3)} %  ${mb(done)}/${mb(total)} MB`;
}

function defaultProgress(): (text: string, done: boolean) => void {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  return (text, done) => {
    if (tty) {
      process.stderr.write(`\r${text}${done ? '\n' : ''}`);
      return;
    }
    // Not a terminal (CI, a log file): one line per 10 % instead of a redrawn bar.
    const m = /(\d+) %/.exec(text);
    const tenth = m ? Math.floor(Number(m[1]) / 10) : 10;
    if (tenth !== lastTenth || done) {
      lastTenth = tenth;
      process.stderr.write(`${text}\n`);
    }
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runCampaignCommand(args: string[], io: CampaignIo): Promise<number> {
  const { out } = io;
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    if (sub === undefined) throw new UsageError('missing command', CAMPAIGN_USAGE);
    throw new HelpRequested(CAMPAIGN_USAGE);
  }
  try {
    switch (sub) {
      case 'create':
        return await create(rest, io);
      case 'import':
        return await importContacts(rest, io);
      case 'start':
      case 'pause':
      case 'resume':
      case 'stop': {
        const { values, positionals } = parseCommandArgs(rest, CAMPAIGN_USAGE, common, 1);
        const id = campaignId(positionals, CAMPAIGN_USAGE);
        const c = connection(values);
        const res = await request(c, 'POST', `/api/campaigns/${id}/${sub}`);
        const { campaign } = (await res.json()) as { campaign: CampaignJson };
        out(c.json ? JSON.stringify(campaign) : `${campaign.id} ${campaign.name}: ${campaign.state}`);
        return 0;
      }
      case 'status':
        return await status(rest, io);
      case 'export': {
        const { values, positionals } = parseCommandArgs(rest, CAMPAIGN_USAGE, { ...common, out: { type: 'string' }, unmask: { type: 'boolean' } }, 1);
        const id = campaignId(positionals, CAMPAIGN_USAGE);
        const c = connection(values);
        // The server decides who may see full numbers and writes the audit entry before answering: the CLI only asks.
        const res = await request(c, 'GET', `/api/campaigns/${id}/export.csv${values.unmask ? '?unmask=true' : ''}`);
        if (values.out) {
          await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(values.out));
          io.err(`wrote ${values.out}`);
        } else {
          out((await res.text()).replace(/\n$/, ''));
        }
        return 0;
      }
    }
  } catch (e) {
    if ((e as Error).name === 'ApiError') {
      io.err(`callpilot campaign ${sub}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
  throw new UsageError(`unknown command "campaign ${sub}"`, CAMPAIGN_USAGE);
}

async function create(args: string[], io: CampaignIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, CAMPAIGN_USAGE, createOptions, 1);
  let body: Record<string, unknown> = {};
  const file = positionals[0];
  if (file !== undefined) {
    let text: string;
    try {
      text = file === '-' ? await (io.stdin ?? readStdin)() : readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, CAMPAIGN_USAGE);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new UsageError(`${file} is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`, CAMPAIGN_USAGE);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${file} must hold one campaign (a map of fields)`, CAMPAIGN_USAGE);
    body = parsed as Record<string, unknown>;
  }
  const flags: Record<string, unknown> = {
    name: values.name,
    flow: values.flow,
    lang: values.lang,
    profile: values.profile,
    dialPattern: values['dial-pattern'],
    trunk: values.trunk,
    cps: numberOption(values.cps, 'cps'),
    maxConcurrent: numberOption(values['max-concurrent'], 'max-concurrent'),
  };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) body[k] = v;
  if (Object.keys(body).length === 0) throw new UsageError('give a campaign file or at least --name, --flow and --dial-pattern', CAMPAIGN_USAGE);
  const c = connection(values);
  const data = JSON.stringify(body);
  const res = await request(c, 'POST', '/api/campaigns', { type: 'application/json', data });
  const { campaign } = (await res.json()) as { campaign: CampaignJson };
  io.out(c.json ? JSON.stringify(campaign) : `created ${campaign.id} ${campaign.name} (${campaign.state}; flow ${campaign.flow}/${campaign.lang}, profile ${campaign.profile})`);
  return 0;
}

interface ImportResponse {
  report: { id: string; rows: number; accepted: number; rejected: number };
  rejects: Array<{ row: number; column: string; reason: string; value?: string }>;
}

async function importContacts(args: string[], io: CampaignIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, CAMPAIGN_USAGE, { ...common, rejects: { type: 'string' } }, 2);
  const id = campaignId(positionals, CAMPAIGN_USAGE);
  const file = positionals[1];
  if (!file) throw new UsageError('missing the contact file (CSV or XLSX)', CAMPAIGN_USAGE);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, CAMPAIGN_USAGE);
  }
  const c = connection(values);
  const isXlsx = extname(file).toLowerCase() === '.xlsx';
  const progress = io.progress ?? defaultProgress();
  let sent = 0;
  const source = createReadStream(file, { highWaterMark: 256 * 1024 });
  // The body is pulled as the socket drains, so what was read is (to one chunk) what was sent.
  const counted = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        for await (const chunk of source) {
          sent += (chunk as Buffer).length;
          progress(`uploading ${basename(file)} ${progressBar(sent, size)}`, false);
          controller.enqueue(new Uint8Array(chunk as Buffer));
        }
        controller.close();
      } catch (err) {
        controller.error(err);
      }
    },
  });
  progress(`uploading ${basename(file)} ${progressBar(0, size)}`, false);
  const res = await request(c, 'POST', `/api/campaigns/${id}/contacts?file=${encodeURIComponent(basename(file).slice(0, 200))}`, {
    type: isXlsx ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv',
    data: counted,
    length: size,
  });
  progress(`uploading ${basename(file)} ${progressBar(size, size)}`, true);
  const result = (await res.json()) as ImportResponse;
  if (c.json) {
    io.out(JSON.stringify(result));
  } else {
    const r = result.report;
    io.out(`import ${r.id}: ${r.rows} rows, ${r.accepted} accepted, ${r.rejected} rejected`);
    if (result.rejects.length > 0) {
      io.out(table([['row', 'column', 'reason'], ...result.rejects.slice(0, 20).map((x) => [String(x.row), x.column, x.reason])]).join('\n'));
      if (r.rejected > 20) io.out(`... ${r.rejected - 20} more`);
    }
  }
  if (result.report.rejected > 0) {
    if (values.rejects) {
      const csv = await request(c, 'GET', `/api/imports/${result.report.id}/rejects.csv`);
      await pipeline(Readable.fromWeb(csv.body as import('node:stream/web').ReadableStream), createWriteStream(values.rejects));
      io.err(`rejected rows written to ${values.rejects}`);
    } else if (!c.json) {
      io.out(`full report: callpilot campaign import ... --rejects FILE, or GET /api/imports/${result.report.id}/rejects.csv`);
    }
  }
  return 0;
}

async function status(args: string[], io: CampaignIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, CAMPAIGN_USAGE, common, 1);
  const c = connection(values);
  if (positionals.length === 0) {
    const res = await request(c, 'GET', '/api/campaigns');
    const { campaigns } = (await res.json()) as { campaigns: CampaignJson[] };
    if (c.json) io.out(JSON.stringify(campaigns));
    else if (campaigns.length === 0) io.out('no campaigns (create one: callpilot campaign create FILE)');
    else io.out(table([['id', 'state', 'flow', 'profile', 'name'], ...campaigns.map((x) => [x.id, x.state, `${x.flow}/${x.lang}`, x.profile, x.name])]).join('\n'));
    return 0;
  }
  const id = campaignId(positionals, CAMPAIGN_USAGE);
  const res = await request(c, 'GET', `/api/campaigns/${id}`);
  const j = (await res.json()) as { campaign: CampaignJson; stats: StatsJson };
  if (c.json) {
    io.out(JSON.stringify(j));
    return 0;
  }
  const { campaign: k, stats: s } = j;
  const lines = [
    `${k.id} ${k.name}`,
    `state        ${k.state}`,
    `flow         ${k.flow}/${k.lang}, profile ${k.profile}, trunk ${k.trunk} at ${k.cps} cps, at most ${k.maxConcurrent} calls`,
    `contacts     ${s.contacts} (pending ${s.pending}, dialing ${s.dialing}, done ${s.done}, blocked ${s.blocked}, unknown ${s.unknown})`,
    `attempts     ${s.attempts} dialled, ${s.connected} connected (answer rate ${pct(s.answerRate)}), avg handle ${s.avgHandleSec.toFixed(1)} s, ${s.attemptsLeft} left`,
  ];
  const dispositions = Object.entries(s.byDisposition).sort((a, b) => b[1] - a[1]);
  if (dispositions.length > 0) lines.push(`outcomes     ${dispositions.map(([d, n]) => `${d} ${n}`).join(', ')}`);
  if (s.nextAt) lines.push(`next attempt ${s.nextAt}`);
  io.out(lines.join('\n'));
  return 0;
}
