/**
 * Issue 9: a burst of calls through the Asterisk test peer at a fixed arrival rate up to server.maxCalls; for each
 * call the time from StasisStart (the PBX handing the call over) to the first media frame exchanged (the first bot
 * frame the bridge hands the caller: callpilot sends silence on connect, before the greeting). Target: p95 and
 * max <= 100 ms.
 *
 * Arrival pattern: one call every 1000/rate ms, which is what the SIPp driver's `-r RATE -rp 1000` does
 * (bench/sipp/run-load.ts); `--jitter` spreads arrivals as a Poisson process of the same mean rate instead.
 *
 *   node --import tsx bench/media-up.ts [--rate 10] [--calls 50] [--max-calls 50] [--media websocket|audiosocket] [--jitter]
 *     [--trace] [--cpu-prof DIR]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { FakeChannel, RecordedRequest } from '../test/pbx/asterisk/peer/fake-asterisk.ts';
import { loadLine, sleep, startAsteriskRig, waitQuiet } from './lib/asterisk-server.ts';
import { distribution, seededRandom } from './lib/stats.ts';

const TARGET_MS = 100;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10' },
    calls: { type: 'string' },
    'max-calls': { type: 'string', default: '50' },
    media: { type: 'string', default: 'websocket' },
    jitter: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    'cpu-prof': { type: 'string' },
  },
});
const rate = Number(values.rate);
const maxCalls = Number(values['max-calls']);
const calls = Number(values.calls ?? maxCalls);
const media = values.media === 'audiosocket' ? 'audiosocket' : 'websocket';
if (!(rate > 0) || !(maxCalls > 0) || !(calls > 0) || calls > maxCalls) throw new Error('need --rate > 0 and 0 < --calls <= --max-calls');

function gapsMs(): number[] {
  const random = seededRandom(9);
  return Array.from({ length: calls }, () => (values.jitter ? -Math.log(1 - random()) * (1000 / rate) : 1000 / rate));
}

/** The earlier of two stamps (media frames flow in both directions; the first either way means media is up). */
function firstOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

const present = (values: ReadonlyArray<number | undefined>): number[] => values.filter((v): v is number => v !== undefined);

interface Placed {
  channel: FakeChannel;
  stasisAt: number;
}

// --cpu-prof DIR: the server writes a V8 CPU profile there when it exits (open it in Chrome DevTools).
const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', values['cpu-prof']] : [];
const rig = await startAsteriskRig({ media, maxCalls, logLevel: values['log-level'], nodeArgs });
// After /readyz the server still synthesizes its prompt cache; a burst then measures the warm-up, not the calls.
const idleCpu = await waitQuiet(rig.server.pid);
const loadBefore = loadLine();
const placed: Placed[] = [];
let failed = false;
try {
  const t0 = performance.now();
  const burstStartUs = process.hrtime.bigint() / 1000n;
  let due = t0;
  for (const gap of gapsMs()) {
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    // placeInboundCall broadcasts StasisStart synchronously: this stamp is the hand-over.
    const stasisAt = performance.now();
    placed.push({ channel: rig.asterisk.placeInboundCall({ callerNumber: `1380013${String(placed.length).padStart(4, '0')}` }), stasisAt });
    due += gap;
  }
  const arrivalSpanMs = performance.now() - t0;
  // CLOCK_MONOTONIC in µs, the clock of the profile's timestamps: the burst's window in the server's profile.
  if (values['cpu-prof']) console.log(`burst window (monotonic µs): ${burstStartUs} .. ${process.hrtime.bigint() / 1000n + 1_000_000n}`);
  const deadline = performance.now() + 30_000;
  while (placed.some((p) => p.channel.line?.firstHeardAt === undefined) && performance.now() < deadline) await sleep(50);
  const loadAfter = loadLine();
  const since = (p: Placed, at: number | undefined): number | undefined => (at === undefined ? undefined : at - p.stasisAt);
  const up = placed.map((p) => since(p, firstOf(p.channel.line?.firstSentAt, p.channel.line?.firstFrameAt)));
  const got = present(up);
  const d = distribution(got);
  const b = distribution(present(placed.map((p) => since(p, p.channel.line?.firstFrameAt))));
  const g = distribution(present(placed.map((p) => since(p, p.channel.line?.firstHeardAt))));
  const poolWarnings = readFileSync(rig.server.logPath, 'utf8').split('\n').filter((l) => l.includes('VAD pool empty')).length;
  const refused = rig.asterisk.requests.filter((r) => r.method === 'DELETE' && r.query.reason_code === '34').length;
  const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(0));
  console.log(`media-up bench: ${calls} calls at ${rate}/s (${values.jitter ? 'Poisson' : 'even, as SIPp -r'} arrivals over ${(arrivalSpanMs / 1000).toFixed(1)} s), maxCalls ${maxCalls}, media ${media}`);
  console.log(`load average before ${loadBefore}, after ${loadAfter}; server CPU in the second before the burst ${idleCpu.toFixed(0)} %`);
  console.log(`media up (StasisStart -> first media frame either way): ${got.length}/${calls} calls, p50 ${fmt(d.p50)} / p95 ${fmt(d.p95)} / max ${fmt(d.max)} ms (target <= ${TARGET_MS} ms) ${(d.max ?? Infinity) <= TARGET_MS ? 'met' : 'MISSED'}`);
  console.log(`first bot frame (silence too) heard by the caller: ${b.n}/${calls} calls, p50 ${fmt(b.p50)} / p95 ${fmt(b.p95)} / max ${fmt(b.max)} ms`);
  console.log(`first greeting audio heard: ${g.n}/${calls} calls, p50 ${fmt(g.p50)} / p95 ${fmt(g.p95)} / max ${fmt(g.max)} ms`);
  const mentions = (r: RecordedRequest, id: string): boolean => r.path.includes(id) || JSON.stringify(r.query).includes(id);
  const reaction = distribution(present(placed.map((p) => since(p, rig.asterisk.requests.find((r) => mentions(r, p.channel.id))?.at))));
  const answered = distribution(present(placed.map((p) => since(p, rig.asterisk.requests.find((r) => r.path === `/ari/channels/${p.channel.id}/answer`)?.repliedAt))));
  console.log(`callpilot's first ARI request for the call: p50 ${fmt(reaction.p50)} / p95 ${fmt(reaction.p95)} / max ${fmt(reaction.max)} ms; answer replied: p50 ${fmt(answered.p50)} / p95 ${fmt(answered.p95)} / max ${fmt(answered.max)} ms`);
  if (values.trace && placed[0]) {
    const first = placed[0];
    const end = firstOf(first.channel.line?.firstSentAt, first.channel.line?.firstFrameAt) ?? Infinity;
    console.log('ARI requests between the first call\'s StasisStart and its media up (ms after StasisStart: arrived / replied):');
    for (const r of rig.asterisk.requests.filter((q) => q.at >= first.stasisAt && q.at <= end)) {
      console.log(`  ${fmt(r.at - first.stasisAt)} / ${fmt(r.repliedAt === undefined ? undefined : r.repliedAt - first.stasisAt)} ${r.method} ${r.path}${r.query.channel ? ` channel=${r.query.channel}` : ''} ${r.status}`);
    }
  }
  if (values.trace) console.log(`server log: ${rig.server.logPath}`);
  console.log(`refused with cause 34: ${refused}; "VAD pool empty" warnings in the server log: ${poolWarnings}`);
  console.log(`per call (ms, arrival order): ${up.map(fmt).join(' ')}`);
  failed = got.length < calls || (d.max ?? Infinity) > TARGET_MS;
} finally {
  for (const p of placed) if (!p.channel.gone) await rig.asterisk.callerHangup(p.channel.id).catch(() => undefined);
  await rig.close();
}
process.exitCode = failed ? 1 : 0;
