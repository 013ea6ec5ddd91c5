/**
 * FreeSWITCH playout on the test peer at N concurrent calls: every call speaks a prompt handed over the way the
 * speaker does (first sentence at once, the next two while it plays), and the peer lays the bot audio on its
 * modelled RTP wire (captures i, i2: ~160 ms holes between broadcasts, gapless file_string playlists).
 * Prints the max and p99 hole between bot audio packets inside a prompt, the share of prompts with a hole over
 * 40 ms, first audio on the wire after the hand-over, and how far the leg's first `played` frame (what callpilot
 * stores as turn latency and `heardMs` from) is from the first packet on the peer's wire (stored minus played).
 *
 *   node --import tsx bench/freeswitch-playout.ts --calls 30 --rate 10
 *
 * The peer is not FreeSWITCH: it checks callpilot's hand-over against the captured behaviour, under this
 * machine's load, not FreeSWITCH's own scheduling.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { PbxCall } from '../src/pbx/types.ts';
import { rig, teardown, tone, until } from '../test/pbx/freeswitch/harness.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '30' }, rate: { type: 'string', default: '10' } } });
const calls = Number(values.calls);
/** Calls arriving per second (the burst: 30 calls at 10/s). */
const arrivalMs = 1000 / Number(values.rate);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

const r = await rig();
await r.adapter.start();
// Calls arrive concurrently: each is matched to its channel by uuid, never by arrival order.
const seen = new Map<string, PbxCall>();
r.adapter.on('call', (call) => seen.set(call.info.pbxCallId, call));
async function inboundCall(): Promise<{ call: PbxCall; uuid: string }> {
  const channel = await r.fs.placeInboundCall({ callerId: '13800138000' });
  await until(() => seen.has(channel.uuid), `call ${channel.uuid}`);
  return { call: seen.get(channel.uuid) as PbxCall, uuid: channel.uuid };
}
const started = performance.now();
const cpuBefore = process.cpuUsage();
const setupFailures: string[] = [];
const outcomes = await Promise.all(
  Array.from({ length: calls }, async (_, i) => {
    await new Promise((res) => setTimeout(res, i * arrivalMs));
    const { call, uuid } = await inboundCall();
    await call.answer();
    const leg = await call.openMedia();
    let firstPlayed = 0;
    // What the turn latency takes as the first frame played: the leg's frame, dated back by its playout lag.
    leg.on('played', () => (firstPlayed ||= performance.now() - (leg.playoutLagMs ?? 0)));
    const done = new Promise<void>((resolve) => leg.on('mark', (m) => m === 'end' && resolve()));
    const handedOver = performance.now();
    leg.play(tone(1200));
    await new Promise((res) => setTimeout(res, 400));
    leg.play(new Int16Array(16 * 200));
    leg.play(tone(1500, 16000, 500));
    await new Promise((res) => setTimeout(res, 700));
    leg.play(tone(900, 16000, 600));
    leg.mark('end');
    await done;
    await new Promise((res) => setTimeout(res, 50));
    const { segments, holesMs } = r.fs.wireAudio(uuid);
    const firstWire = segments[0]?.at ?? Number.NaN;
    const audioMs = segments.reduce((n, s) => n + s.ms, 0);
    await call.hangup();
    return { maxHole: Math.max(0, ...holesMs), firstWireMs: firstWire - handedOver, playedVsWire: firstPlayed - firstWire, audioMs, broadcasts: r.fs.channel(uuid).playbacks.length };
  }).map((p) =>
    // A call whose media did not come up (a starved machine) is reported, not allowed to end the run.
    p.catch((err: unknown) => {
      setupFailures.push((err as Error).message);
      return undefined;
    }),
  ),
);
const results = outcomes.filter((x) => x !== undefined);
await teardown(r);
const maxHoles = results.map((x) => x.maxHole);
const cpu = process.cpuUsage(cpuBefore);
const wallS = (performance.now() - started) / 1000;
console.log(`FreeSWITCH playout on the capture-built peer (not a real FreeSWITCH), ${calls} calls at ${values.rate}/s, ${wallS.toFixed(1)} s`);
console.log(`  machine: load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores; this process (peer + callpilot) used ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
if (setupFailures.length > 0) console.log(`  calls that failed before speaking (left out below): ${setupFailures.length}/${calls}: ${setupFailures[0]}`);
console.log(`  max hole between bot audio packets inside a prompt: max ${Math.max(...maxHoles).toFixed(1)} ms, p99 ${percentile(maxHoles, 99).toFixed(1)} ms, p95 ${percentile(maxHoles, 95).toFixed(1)} ms; prompts with a hole > 40 ms: ${maxHoles.filter((h) => h > 40).length}/${results.length}`);
console.log(`  broadcasts per prompt: ${[...new Set(results.map((x) => x.broadcasts))].join(', ')}; audio on the wire per prompt: ${[...new Set(results.map((x) => Math.round(x.audioMs)))].join(', ')} ms of 3800`);
const firstWire = results.map((x) => x.firstWireMs);
console.log(`  hand-over -> first packet on the wire: p50 ${percentile(firstWire, 50).toFixed(0)} ms, p95 ${percentile(firstWire, 95).toFixed(0)} ms, p99 ${percentile(firstWire, 99).toFixed(0)} ms (peer: ~110 ms broadcast -> PLAYBACK_START + 15 ms)`);
const offset = results.map((x) => x.playedVsWire);
const absOffset = offset.map(Math.abs);
console.log(`  stored - played (leg's first played frame, dated back by its playout lag, - first packet on the wire): p50 ${percentile(offset, 50).toFixed(1)} ms, p95 ${percentile(offset, 95).toFixed(1)} ms, p99 ${percentile(offset, 99).toFixed(1)} ms, min ${Math.min(...offset).toFixed(1)} ms, max |.| ${Math.max(...absOffset).toFixed(1)} ms; within 40 ms: ${absOffset.filter((o) => o <= 40).length}/${results.length}`);
