import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeCalls, pairCalls, promptHoles, readRtpStreams, summarizeLoad, ulawToLinear, voicedSegments, wireTurns } from './sipp-analysis.ts';

/** G.711 u-law encoder (the inverse of the decoder under test), for generating captures. */
function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

interface Pkt {
  atMs: number;
  src: [number, number, number, number, number];
  dst: [number, number, number, number, number];
  seq: number;
  ts: number;
  ssrc: number;
  voiced: boolean;
}

/** A little-endian libpcap file (Ethernet) of RTP/PCMU packets: a tone at about -13 dBFS or digital silence. */
function pcapOf(packets: Pkt[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  parts.push(header);
  for (const p of packets) {
    const payload = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) payload[i] = linearToUlaw(p.voiced ? Math.round(8000 * Math.sin((2 * Math.PI * 440 * (p.ts + i)) / 8000)) : 0);
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = 0;
    rtp.writeUInt16BE(p.seq & 0xffff, 2);
    rtp.writeUInt32BE(p.ts >>> 0, 4);
    rtp.writeUInt32BE(p.ssrc, 8);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(p.src[4], 0);
    udp.writeUInt16BE(p.dst[4], 2);
    udp.writeUInt16BE(8 + 12 + 160, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + 12 + 160, 2);
    ip[8] = 64;
    ip[9] = 17;
    for (let i = 0; i < 4; i++) {
      ip[12 + i] = p.src[i] ?? 0;
      ip[16 + i] = p.dst[i] ?? 0;
    }
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp, payload]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(p.atMs / 1000), 0);
    rec.writeUInt32LE(Math.round((p.atMs % 1000) * 1000), 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  return Buffer.concat(parts);
}

const SIPP: [number, number, number, number, number] = [10, 0, 0, 1, 6000];
const PBX: [number, number, number, number, number] = [10, 0, 0, 2, 18000];

/**
 * One call as the carrier side would capture it: the caller speaks 0-1000 ms and 3000-3600 ms; the bot greets at
 * 0-800 ms (talked over), answers 320 ms after the first utterance with a 160 ms hole inside that prompt (a queued
 * broadcast boundary), then stays silent after the second utterance. Packets every 20 ms, 1000 s into the capture.
 */
function oneCall(): Buffer {
  const t0 = 1_000_000;
  const packets: Pkt[] = [];
  for (let n = 0; n < 250; n++) {
    const ms = n * 20;
    const voiced = ms < 1000 || (ms >= 3000 && ms < 3600);
    packets.push({ atMs: t0 + ms, src: SIPP, dst: PBX, seq: n, ts: n * 160, ssrc: 1, voiced });
  }
  let seq = 0;
  for (let ms = 0; ms < 5000; ms += 20) {
    // The hole: 1800-1960 ms has no packets at all, timestamps go on.
    if (ms >= 1800 && ms < 1960) continue;
    const voiced = ms < 800 || (ms >= 1320 && ms < 2600);
    packets.push({ atMs: t0 + ms + 1, src: PBX, dst: SIPP, seq: seq++, ts: (ms / 20) * 160, ssrc: 2, voiced });
  }
  packets.sort((a, b) => a.atMs - b.atMs);
  return pcapOf(packets);
}

test('u-law decoding: silence, full scale and sign', () => {
  assert.is(ulawToLinear(0xff), 0);
  assert.is(ulawToLinear(0x80), 32124);
  assert.is(ulawToLinear(0x00), -32124);
  for (const s of [-20000, -1000, 0, 50, 1000, 20000]) assert.ok(Math.abs(ulawToLinear(linearToUlaw(s)) - s) <= Math.max(8, Math.abs(s) / 16), `round trip ${s}`);
});

test('a capture becomes two RTP streams, paired into one call', () => {
  const streams = readRtpStreams(oneCall());
  assert.is(streams.length, 2);
  const calls = pairCalls(streams, (s) => s.src === '10.0.0.1:6000');
  assert.is(calls.length, 1);
  assert.is(calls[0]?.caller.packets.length, 250);
  assert.is(calls[0]?.bot.packets.length, 250 - 8);
  assert.ok((calls[0]?.caller.packets[0]?.dbfs ?? 0) > -20, 'the tone is loud');
  assert.is(calls[0]?.caller.packets[60]?.dbfs, Number.NEGATIVE_INFINITY, 'digital silence');
  assert.equal(voicedSegments(calls[0]!.caller), [
    { startMs: 1_000_000, endMs: 1_001_000 },
    { startMs: 1_003_000, endMs: 1_003_600 },
  ]);
});

test('wire turn latency: caller end to the bot onset; a talked-over prompt and an unanswered turn are told apart', () => {
  const [call] = pairCalls(readRtpStreams(oneCall()), (s) => s.src === '10.0.0.1:6000');
  const turns = wireTurns(call!);
  assert.is(turns.length, 2);
  assert.is(turns[0]?.latencyMs, 321, 'first utterance ends at 1000, the bot answers at 1321');
  assert.is(turns[0]?.botTalking, false);
  assert.is(turns[1]?.latencyMs, undefined, 'no answer to the second');
});

test('holes inside a prompt are found from arrival times; silence between prompts is not a hole', () => {
  const [call] = pairCalls(readRtpStreams(oneCall()), (s) => s.src === '10.0.0.1:6000');
  assert.equal(promptHoles(call!.bot), [180]);
  assert.equal(promptHoles(call!.caller), []);
});

test('per-call verdicts: wrong dispositions, missing records and calls left active all count', () => {
  const v = judgeCalls(
    [
      { id: 'a', disposition: 'transferred', status: 'ended' },
      { id: 'b', disposition: 'caller_hangup', status: 'ended' },
      { id: 'c', status: 'active' },
    ],
    ['transferred'],
    4,
  );
  assert.is(v.right, 1);
  assert.equal(v.wrong, [
    { id: 'b', disposition: 'caller_hangup' },
    { id: 'c', disposition: 'still active' },
  ]);
  assert.is(v.missing, 1);
  assert.is(v.stillActive, 1);
});

test('the summary fails loudly when SIPp is happy but calls went wrong for the bot, and passes when all is right', () => {
  const [call] = pairCalls(readRtpStreams(oneCall()), (s) => s.src === '10.0.0.1:6000');
  const base = { sipp: { successful: 30, failed: 0, exitCode: 0 }, placed: 30, expected: ['transferred'], latencyTargetMs: 500, holeTargetMs: 40, cpuPercent: 85, rssPeakMb: 310 };
  const bad = summarizeLoad({ ...base, verdicts: judgeCalls([{ id: 'x', disposition: 'caller_hangup', status: 'ended' }], ['transferred'], 30), turns: wireTurns(call!), wireCalls: 1, holesMs: promptHoles(call!.bot) });
  assert.ok(bad.failures.some((f) => /30 calls ended wrong|calls ended wrong/.test(f)), bad.failures.join('\n'));
  assert.ok(bad.failures.some((f) => /29 calls SIPp placed have no record/.test(f)));
  assert.ok(bad.failures.some((f) => /holes in the bot's audio \(max 180 ms\)/.test(f)));
  assert.ok(bad.rows.some(([k, v]) => k.startsWith('callpilot CPU') && v.includes('85 %') && v.includes('310 MB')));
  const good = summarizeLoad({
    ...base,
    placed: 1,
    verdicts: judgeCalls([{ id: 'x', disposition: 'transferred', status: 'ended' }], ['transferred'], 1),
    turns: [{ callerEndMs: 0, latencyMs: 420, botTalking: false }],
    wireCalls: 1,
    holesMs: [],
  });
  assert.equal(good.failures, []);
  const slow = summarizeLoad({ ...base, placed: 0, turns: [{ callerEndMs: 0, latencyMs: 900, botTalking: false }], wireCalls: 1, holesMs: [] });
  assert.ok(slow.failures.some((f) => /p95 900 ms is over 500 ms/.test(f)));
});

test.run();
