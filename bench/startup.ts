/**
 * Start time of the real server: spawns `node bin/callpilot.js start` (default config: demo ASR model and Silero VAD
 * from models/, espeak-ng TTS; SQLite in a temp folder) and measures, from the spawn:
 *   - the first 200 from /healthz (answered by the socket bin/callpilot.js binds before tsx loads),
 *   - the `callpilot listening on` line on stderr (the TypeScript side has loaded its config and taken the socket),
 *   - the first 200 from /readyz (models loaded),
 * plus the server's own CPU time when /healthz first answered (user + system, all threads, from /proc) and the load
 * average, because on a shared machine wall time mostly measures the neighbours.
 *
 *   node --import tsx bench/startup.ts [--runs 3] [--poll-ms 20]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, REPO_ROOT } from '../test/support/e2e.ts';
import { clockTicksPerSecond, parseProcStat } from './lib/proc.ts';

interface StartRun {
  load1: number;
  /** The same poll against a bare `node -e` HTTP server: what Node alone needs on this machine right now. */
  bareNodeMs?: number;
  boundMs?: number;
  healthzMs?: number;
  cpuAtHealthzMs?: number;
  readyzMs?: number;
  /** readyz detail seen while loading (progress as a user sees it). */
  loadingDetails: string[];
  error?: string;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'poll-ms': { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const pollMs = Number(values['poll-ms']);
const ticks = clockTicksPerSecond();

async function measureOnce(): Promise<StartRun> {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-startup-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const run: StartRun = { load1: Math.round(loadavg()[0]! * 10) / 10, loadingDetails: [] };
  const t0 = performance.now();
  const since = (): number => Math.round(performance.now() - t0);
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/callpilot.js'), 'start'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CALLPILOT_CONFIG: '',
      CALLPILOT_SERVER_PORT: String(port),
      CALLPILOT_STORE_PATH: join(dir, 'calls.db'),
      CALLPILOT_STORE_RECORDINGS_DIR: join(dir, 'rec'),
      CALLPILOT_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (run.boundMs === undefined && stderr.includes('callpilot listening on')) run.boundMs = since();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    while (!gone && since() < 300_000) {
      if (run.healthzMs === undefined) {
        const res = await fetch(`${base}/healthz`).catch(() => undefined);
        if (res?.ok) {
          run.healthzMs = since();
          run.cpuAtHealthzMs = Math.round((parseProcStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).cpuTicks / ticks) * 1000);
        }
      } else {
        const res = await fetch(`${base}/readyz`).catch(() => undefined);
        if (res?.ok) {
          run.readyzMs = since();
          break;
        }
        if (res) {
          const body = (await res.json()) as { checks?: Record<string, { detail?: string }> };
          const detail = Object.entries(body.checks ?? {})
            .filter(([name]) => name === 'startup' || name === 'speech')
            .map(([name, c]) => `${name}: ${c.detail ?? ''}`.replace(/\(\d+(\.\d+)? s since.*?\)/, '').trim())
            .join('; ');
          if (run.loadingDetails.at(-1) !== detail) run.loadingDetails.push(detail);
        }
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    if (run.readyzMs === undefined) run.error = gone ? `server exited: ${stderr.slice(-500)}` : 'not ready within 300 s';
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return run;
}

/** Spawn -> first 200 of a plain node:http server: the floor any Node server has under the current load. */
async function bareNode(): Promise<number | undefined> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`], { stdio: 'ignore' });
  try {
    while (performance.now() - t0 < 60_000) {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      if (res?.ok) return Math.round(performance.now() - t0);
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return undefined;
  } finally {
    child.kill();
  }
}

const results: StartRun[] = [];
for (let i = 0; i < runs; i++) {
  const bare = await bareNode();
  const run = await measureOnce();
  run.bareNodeMs = bare;
  results.push(run);
  process.stderr.write(`run ${i + 1}: ${JSON.stringify(run)}\n`);
}
const ms = (v: number | undefined): string => (v === undefined ? '-' : `${(v / 1000).toFixed(2)} s`);
console.log('| run | load avg (1 min) | bare `node -e` HTTP 200 | /healthz 200 | server CPU at /healthz | "callpilot listening" on stderr | /readyz 200 |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
results.forEach((r, i) =>
  console.log(`| ${i + 1} | ${r.load1} | ${ms(r.bareNodeMs)} | ${ms(r.healthzMs)} | ${ms(r.cpuAtHealthzMs)} | ${ms(r.boundMs)} | ${ms(r.readyzMs)}${r.error ? ` (${r.error})` : ''} |`),
);
console.log(`\n/readyz while loading (run 1): ${results[0]?.loadingDetails.join(' -> ')}`);
process.exitCode = results.every((r) => r.readyzMs !== undefined) ? 0 : 1;
