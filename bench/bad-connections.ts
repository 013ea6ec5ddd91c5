/**
 * Issue 9: memory stays bounded under hostile connections. Against a `callpilot start` child wired to the Asterisk
 * test peer (AudioSocket media), opens N bad connections, cycling through the kinds below, a few at a time; prints
 * the server's RSS before (after one warm-up call and one connection of each kind), at peak and 5 s after (tree RSS
 * from /proc), checks the growth stays within --bound-mb, and
 * that /healthz and a normal call through the peer still work afterwards.
 *
 *   node --import tsx bench/bad-connections.ts [--connections 1000] [--parallel 20] [--bound-mb 64]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { MAX_MEDIA_MESSAGE_BYTES, MAX_START_BYTES } from '../src/media/index.ts';
import type { AsteriskBenchRig } from './lib/asterisk-server.ts';
import { loadLine, sleep, startAsteriskRig, waitQuiet } from './lib/asterisk-server.ts';
import { startProcSampler } from './lib/proc.ts';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '20' },
    'bound-mb': { type: 'string', default: '64' },
  },
});
const total = Number(values.connections);
const parallel = Number(values.parallel);
const boundMb = Number(values['bound-mb']);

const START = { event: 'start', codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo' };
/** How long one bad connection may stay open before the bench drops it itself (the server should close first). */
const CONNECTION_DEADLINE_MS = 5000;

type Outcome = 'closed-by-server' | 'dropped-by-bench' | 'refused';

/** Opens /media and sends `frames`; resolves with who ended it. */
function mediaWs(rig: AsteriskBenchRig, frames: Array<string | Buffer>, auth = true): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${rig.server.baseUrl.replace(/^http/, 'ws')}/media`, auth ? { headers: { authorization: `Bearer ${rig.server.token}` } } : {});
    const timer = setTimeout(() => {
      ws.terminate();
      resolve('dropped-by-bench');
    }, CONNECTION_DEADLINE_MS);
    ws.on('open', () => {
      for (const f of frames) ws.send(f, { binary: typeof f !== 'string' });
    });
    ws.on('close', () => {
      clearTimeout(timer);
      resolve('closed-by-server');
    });
    ws.on('error', () => {
      clearTimeout(timer);
      ws.terminate();
      resolve('refused');
    });
  });
}

/** Opens the AudioSocket listener and writes `bytes`; resolves with who ended it. */
function audioSocket(rig: AsteriskBenchRig, bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = connect(rig.audioSocketPort, '127.0.0.1', () => sock.write(bytes));
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('dropped-by-bench');
    }, CONNECTION_DEADLINE_MS);
    sock.on('data', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve('closed-by-server');
    });
    sock.on('error', () => undefined);
  });
}

/** `[kind][length BE][payload]`. */
function audioSocketFrame(kind: number, payload: Buffer): Buffer {
  const header = Buffer.from([kind, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

const KINDS: Record<string, (rig: AsteriskBenchRig) => Promise<Outcome>> = {
  'ws oversize frame': (rig) => mediaWs(rig, [randomBytes(MAX_MEDIA_MESSAGE_BYTES * 4)]),
  'ws oversize start': (rig) => mediaWs(rig, [JSON.stringify({ ...START, variables: { note: 'x'.repeat(MAX_START_BYTES * 2) } })]),
  'ws malformed start': (rig) => mediaWs(rig, ['{"event":"start","codec":']),
  'ws start with wrong fields': (rig) => mediaWs(rig, [JSON.stringify({ event: 'start', codec: 'opus', sampleRate: 12345, callId: '../../etc\u0000x' })]),
  'ws garbage before start': (rig) => mediaWs(rig, [randomBytes(320), randomBytes(320), 'not json', randomBytes(640)]),
  'ws garbage after a valid start': (rig) => mediaWs(rig, [JSON.stringify(START), '{"event":"nonsense"}', 'garbage', randomBytes(7), JSON.stringify({ event: 'dtmf', digit: 'ZZ' })]),
  'ws without credentials': (rig) => mediaWs(rig, [JSON.stringify(START)], false),
  'audiosocket unknown uuid': (rig) => audioSocket(rig, Buffer.concat([audioSocketFrame(0x01, Buffer.from(randomUUID().replaceAll('-', ''), 'hex')), audioSocketFrame(0x10, Buffer.alloc(320))])),
  'audiosocket garbage bytes': (rig) => audioSocket(rig, randomBytes(512)),
  'audiosocket short uuid then audio': (rig) => audioSocket(rig, Buffer.concat([audioSocketFrame(0x01, randomBytes(5)), audioSocketFrame(0x10, Buffer.alloc(320))])),
};

/** A normal inbound call through the peer: the caller hears the greeting; resolves with ms from StasisStart. */
async function normalCall(rig: AsteriskBenchRig): Promise<number> {
  const at = performance.now();
  const channel = rig.asterisk.placeInboundCall({ callerNumber: '13800138000' });
  const deadline = at + 30_000;
  while (channel.line?.firstHeardAt === undefined) {
    if (performance.now() > deadline) throw new Error(`a normal call got no greeting in 30 s; server log ${rig.server.logPath}`);
    await sleep(50);
  }
  const ms = channel.line.firstHeardAt - at;
  await rig.asterisk.callerHangup(channel.id);
  return ms;
}

const mb = (bytes: number | undefined): string => (bytes === undefined ? '?' : (bytes / 2 ** 20).toFixed(0));

const rig = await startAsteriskRig({ media: 'audiosocket', maxCalls: 50 });
let failed = false;
try {
  const sampler = startProcSampler(rig.server.pid, 100);
  // Warm: the first call loads what every call shares (prompt cache, VAD pool), which is not a leak.
  const warmMs = await normalCall(rig);
  // And one of each bad kind: what a code path allocates on first use (a call's ASR stream, ws buffers) is not
  // growth per connection, which is what the bound is about.
  const kinds = Object.entries(KINDS);
  for (const [, open] of kinds) await open(rig);
  await waitQuiet(rig.server.pid);
  const loadBefore = loadLine();
  const before = sampler.mark('before');
  const outcomes = new Map<string, Map<Outcome, number>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      const [name, open] = kinds[i % kinds.length]!;
      const outcome = await open(rig);
      const m = outcomes.get(name) ?? new Map<Outcome, number>();
      m.set(outcome, (m.get(outcome) ?? 0) + 1);
      outcomes.set(name, m);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: parallel }, worker));
  const burstS = (performance.now() - t0) / 1000;
  sampler.mark('burst-end');
  await sleep(5000);
  const after = sampler.mark('after');
  const peak = sampler.window('before', 'after')?.peakRssBytes;
  const loadAfter = loadLine();
  const healthz = await fetch(`${rig.server.baseUrl}/healthz`).then((r) => r.status, (err: Error) => err.message);
  const callMs = await normalCall(rig).catch((err: Error) => err.message);
  sampler.stop();
  const growthMb = ((after?.rssBytes ?? 0) - (before?.rssBytes ?? 0)) / 2 ** 20;
  console.log(`bad-connections bench: ${total} bad connections, ${parallel} at a time, in ${burstS.toFixed(1)} s`);
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);
  console.log(`server RSS before ${mb(before?.rssBytes)} MB, peak ${mb(peak)} MB, after (5 s later) ${mb(after?.rssBytes)} MB: growth ${growthMb.toFixed(0)} MB (bound ${boundMb} MB) ${growthMb <= boundMb ? 'met' : 'MISSED'}`);
  console.log(`afterwards: /healthz ${healthz}; normal call greeting heard after ${typeof callMs === 'number' ? `${callMs.toFixed(0)} ms` : callMs} (warm-up call: ${warmMs.toFixed(0)} ms)`);
  for (const [name, m] of outcomes) console.log(`  ${name}: ${[...m].map(([o, n]) => `${n} ${o}`).join(', ')}`);
  failed = growthMb > boundMb || healthz !== 200 || typeof callMs !== 'number';
} finally {
  await rig.close();
}
process.exitCode = failed ? 1 : 0;
