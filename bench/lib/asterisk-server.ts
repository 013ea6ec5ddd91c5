import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeAsterisk } from '../../test/pbx/asterisk/peer/fake-asterisk.ts';
import { freePort } from '../../test/support/e2e.ts';
import { MODEL_DIRS } from './args.ts';
import { clockTicksPerSecond, cpuPercent, sampleProcessTree } from './proc.ts';
import { startServer, type RunningServer } from './server.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Asterisk test peer (ARI, chan_websocket, AudioSocket from real captures) and a callpilot child process using it. */
export interface AsteriskBenchRig {
  asterisk: FakeAsterisk;
  server: RunningServer;
  workDir: string;
  audioSocketPort: number;
  close(): Promise<void>;
}

/**
 * Starts the peer, then `callpilot start` (real sherpa-onnx tiny model, default flow) connected to it over ARI,
 * and waits until the Stasis app is subscribed (only then does a dialplan `Stasis()` reach callpilot).
 */
export async function startAsteriskRig(opts: { media: 'websocket' | 'audiosocket'; maxCalls: number; logLevel?: string; nodeArgs?: string[] }): Promise<AsteriskBenchRig> {
  const password = `bench-${process.pid}`;
  const asterisk = new FakeAsterisk({ password });
  await asterisk.start();
  const workDir = mkdtempSync(join(tmpdir(), 'callpilot-bench-'));
  const audioSocketPort = await freePort();
  const server = await startServer({
    repoRoot: REPO_ROOT,
    port: await freePort(),
    asrModel: MODEL_DIRS.tiny,
    workDir,
    record: false,
    modelDirs: [resolve(REPO_ROOT, '../shared/models')],
    logLevel: opts.logLevel ?? 'warn',
    nodeArgs: opts.nodeArgs,
    extraEnv: {
      CALLPILOT_SERVER_MAX_CALLS: String(opts.maxCalls),
      CALLPILOT_PBX_ASTERISK_URL: asterisk.url,
      CALLPILOT_PBX_ASTERISK_USERNAME: 'bot',
      CALLPILOT_PBX_ASTERISK_PASSWORD: password,
      CALLPILOT_PBX_ASTERISK_APP: 'bot',
      CALLPILOT_PBX_ASTERISK_MEDIA: opts.media,
      CALLPILOT_PBX_ASTERISK_AUDIO_SOCKET_PORT: String(audioSocketPort),
    },
  });
  const deadline = Date.now() + 30_000;
  while (asterisk.eventSocketCount === 0) {
    if (Date.now() > deadline) throw new Error(`callpilot never subscribed to ARI events; log ${server.logPath}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    asterisk,
    server,
    workDir,
    audioSocketPort,
    async close() {
      await server.stop();
      await asterisk.stop();
    },
  };
}

/** "1.23 0.98 0.70": the 1/5/15-minute load averages, printed beside every figure. */
export function loadLine(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the server process tree used under `maxCpuPercent` of a core over one second (it warms its prompt
 * cache after /readyz), or `timeoutMs`; returns the last second's CPU %.
 */
export async function waitQuiet(pid: number, maxCpuPercent = 10, timeoutMs = 60_000): Promise<number> {
  const ticks = clockTicksPerSecond();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = sampleProcessTree(pid);
    const t = performance.now();
    await sleep(1000);
    const b = sampleProcessTree(pid);
    const cpu = a && b ? cpuPercent(a, b, performance.now() - t, ticks) : 0;
    if (cpu <= maxCpuPercent || Date.now() > deadline) return cpu;
  }
}
