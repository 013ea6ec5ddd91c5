/**
 * Analysis for bench/sipp/run-load.ts, kept apart from the SIPp plumbing so it can be tested without a PBX:
 * RTP streams read from a packet capture (what the carrier side saw on the wire), turn latency and holes in
 * the bot's audio measured from packet arrival times, each call's stored outcome against the expected one, and
 * the summary that fails loudly when anything went wrong.
 */

export interface RtpPacket {
  /** Capture time in ms (pcap timestamp). */
  atMs: number;
  seq: number;
  timestamp: number;
  payloadType: number;
  /** Energy of the G.711 payload in dBFS (-Infinity for digital silence; NaN for other codecs). */
  dbfs: number;
}

export interface RtpStream {
  /** `srcIp:srcPort>dstIp:dstPort` */
  key: string;
  src: string;
  dst: string;
  ssrc: number;
  packets: RtpPacket[];
}

/** Reads every RTP packet (UDP, version 2, PT < 128 minus RTCP's 72-76) of a libpcap file. */
export function readRtpStreams(pcap: Buffer): RtpStream[] {
  if (pcap.length < 24) throw new Error('not a pcap file: too short');
  const magicLe = pcap.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = pcap.readUInt32BE(0);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error('not a pcap file (pcapng is not read: tcpdump -w writes pcap)');
    le = false;
    nanos = magicBe === 0xa1b23c4d;
  }
  const u32 = (o: number): number => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  const linkType = u32(20);
  const streams = new Map<string, RtpStream>();
  let off = 24;
  while (off + 16 <= pcap.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const len = u32(off + 8);
    const start = off + 16;
    off = start + len;
    if (off > pcap.length) break;
    const ip = ipOffset(pcap, start, len, linkType);
    if (ip === undefined) continue;
    const packet = udpRtp(pcap, ip, start + len);
    if (!packet) continue;
    const atMs = sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3);
    const streamKey = `${packet.src}>${packet.dst}#${packet.ssrc}`;
    let stream = streams.get(streamKey);
    if (!stream) {
      stream = { key: `${packet.src}>${packet.dst}`, src: packet.src, dst: packet.dst, ssrc: packet.ssrc, packets: [] };
      streams.set(streamKey, stream);
    }
    stream.packets.push({ atMs, seq: packet.seq, timestamp: packet.timestamp, payloadType: packet.payloadType, dbfs: g711Dbfs(pcap, packet.payloadStart, packet.payloadEnd, packet.payloadType) });
  }
  return [...streams.values()];
}

function ipOffset(buf: Buffer, start: number, len: number, linkType: number): number | undefined {
  let off: number;
  let proto: number;
  switch (linkType) {
    case 1: // Ethernet (with one VLAN tag at most)
      if (len < 14) return undefined;
      proto = buf.readUInt16BE(start + 12);
      off = start + 14;
      if (proto === 0x8100) {
        proto = buf.readUInt16BE(start + 16);
        off += 4;
      }
      break;
    case 113: // Linux cooked (tcpdump -i any)
      if (len < 16) return undefined;
      proto = buf.readUInt16BE(start + 14);
      off = start + 16;
      break;
    case 276: // Linux cooked v2
      if (len < 20) return undefined;
      proto = buf.readUInt16BE(start);
      off = start + 20;
      break;
    case 0: // BSD loopback
      off = start + 4;
      proto = 0x0800;
      break;
    case 101:
    case 12:
      off = start;
      proto = 0x0800;
      break;
    default:
      throw new Error(`pcap link type ${linkType} is not read`);
  }
  return proto === 0x0800 ? off : undefined;
}

function udpRtp(
  buf: Buffer,
  ip: number,
  end: number,
): { src: string; dst: string; ssrc: number; seq: number; timestamp: number; payloadType: number; payloadStart: number; payloadEnd: number } | undefined {
  if (ip + 20 > end || buf[ip] >> 4 !== 4) return undefined;
  const ihl = (buf[ip] & 0x0f) * 4;
  if (buf[ip + 9] !== 17) return undefined;
  const udp = ip + ihl;
  if (udp + 8 > end) return undefined;
  const rtp = udp + 8;
  if (rtp + 12 > end || buf[rtp] >> 6 !== 2) return undefined;
  const payloadType = buf[rtp + 1] & 0x7f;
  if (payloadType >= 72 && payloadType <= 76) return undefined; // RTCP
  const csrc = buf[rtp] & 0x0f;
  let payloadStart = rtp + 12 + csrc * 4;
  if (buf[rtp] & 0x10) {
    if (payloadStart + 4 > end) return undefined;
    payloadStart += 4 + buf.readUInt16BE(payloadStart + 2) * 4;
  }
  let payloadEnd = end;
  if (buf[rtp] & 0x20) payloadEnd -= buf[end - 1] ?? 0;
  if (payloadStart > payloadEnd) return undefined;
  const ipStr = (o: number): string => `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
  return {
    src: `${ipStr(ip + 12)}:${buf.readUInt16BE(udp)}`,
    dst: `${ipStr(ip + 16)}:${buf.readUInt16BE(udp + 2)}`,
    ssrc: buf.readUInt32BE(rtp + 8),
    seq: buf.readUInt16BE(rtp + 2),
    timestamp: buf.readUInt32BE(rtp + 4),
    payloadType,
    payloadStart,
    payloadEnd,
  };
}

/** ITU-T G.711 u-law and A-law to linear. */
export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = seg === 0 ? t + 8 : seg === 1 ? t + 0x108 : (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

function g711Dbfs(buf: Buffer, start: number, end: number, pt: number): number {
  if ((pt !== 0 && pt !== 8) || end <= start) return Number.NaN;
  const decode = pt === 0 ? ulawToLinear : alawToLinear;
  let sum = 0;
  for (let i = start; i < end; i++) {
    const s = decode(buf[i] ?? 0);
    sum += s * s;
  }
  const rms = Math.sqrt(sum / (end - start));
  return rms > 0 ? 20 * Math.log10(rms / 32768) : Number.NEGATIVE_INFINITY;
}

/** One call on the wire: the caller's stream (from SIPp) and the PBX's stream back to it (the bot). */
export interface WireCall {
  caller: RtpStream;
  bot: RtpStream;
}

/** Pairs streams by address: the bot stream of a call goes to where the caller's stream comes from. */
export function pairCalls(streams: RtpStream[], callerIsSource: (s: RtpStream) => boolean): WireCall[] {
  const calls: WireCall[] = [];
  for (const caller of streams.filter(callerIsSource)) {
    const bot = streams.find((s) => s.src === caller.dst && s.dst === caller.src);
    if (bot) calls.push({ caller, bot });
  }
  return calls;
}

export interface Segment {
  startMs: number;
  endMs: number;
}

/** Voiced stretches of a stream: packets above `thresholdDbfs`, joined across pauses shorter than `joinMs`. */
export function voicedSegments(stream: RtpStream, thresholdDbfs = -45, joinMs = 400): Segment[] {
  const out: Segment[] = [];
  for (const p of stream.packets) {
    if (!(p.dbfs > thresholdDbfs)) continue;
    const last = out[out.length - 1];
    if (last && p.atMs - last.endMs <= joinMs) last.endMs = p.atMs + 20;
    else out.push({ startMs: p.atMs, endMs: p.atMs + 20 });
  }
  return out;
}

export interface WireTurn {
  /** The caller stopped speaking (end of the last voiced packet). */
  callerEndMs: number;
  /** From then to the bot's first voiced packet; undefined when the bot did not answer before the caller spoke again. */
  latencyMs?: number;
  /** The bot was already speaking when the caller stopped (the caller talked over a prompt that went on). */
  botTalking: boolean;
}

/** Turn latency on the wire: each caller utterance's end to the bot's next voice onset. */
export function wireTurns(call: WireCall, thresholdDbfs = -45, joinMs = 400): WireTurn[] {
  const caller = voicedSegments(call.caller, thresholdDbfs, joinMs);
  const bot = voicedSegments(call.bot, thresholdDbfs, joinMs);
  return caller.map((u, i) => {
    const nextCaller = caller[i + 1]?.startMs ?? Number.POSITIVE_INFINITY;
    const botTalking = bot.some((b) => b.startMs < u.endMs && b.endMs > u.endMs);
    const onset = bot.find((b) => b.startMs >= u.endMs && b.startMs < nextCaller);
    return { callerEndMs: u.endMs, botTalking, latencyMs: onset && !botTalking ? onset.startMs - u.endMs : undefined };
  });
}

/**
 * Holes inside the bot's prompts: arrival gaps longer than `overMs` between consecutive packets inside one voiced
 * stretch (timestamps continue across such a hole, so only arrival times show it). Silence between prompts,
 * where a PBX may send nothing at all, is not counted.
 */
export function promptHoles(stream: RtpStream, overMs = 40, thresholdDbfs = -45, joinMs = 400): number[] {
  const segments = voicedSegments(stream, thresholdDbfs, joinMs);
  const holes: number[] = [];
  let s = 0;
  for (let i = 1; i < stream.packets.length; i++) {
    const prev = stream.packets[i - 1]?.atMs ?? 0;
    const at = stream.packets[i]?.atMs ?? 0;
    while (s < segments.length && (segments[s]?.endMs ?? 0) < prev) s++;
    const seg = segments[s];
    if (!seg || prev < seg.startMs || at > seg.endMs) continue;
    if (at - prev > overMs) holes.push(at - prev);
  }
  return holes;
}

export interface StoredCall {
  id: string;
  disposition?: string;
  status?: string;
}

export interface CallVerdicts {
  right: number;
  wrong: Array<{ id: string; disposition: string }>;
  /** Calls SIPp placed that callpilot has no record of. */
  missing: number;
  stillActive: number;
}

/** Each stored call of the run against the outcome the caller script should have produced. */
export function judgeCalls(stored: StoredCall[], expected: string[], placed: number): CallVerdicts {
  const v: CallVerdicts = { right: 0, wrong: [], missing: Math.max(0, placed - stored.length), stillActive: 0 };
  for (const c of stored) {
    if (c.status === 'active') v.stillActive++;
    if (c.disposition && expected.includes(c.disposition)) v.right++;
    else v.wrong.push({ id: c.id, disposition: c.disposition ?? (c.status === 'active' ? 'still active' : 'none') });
  }
  return v;
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface LoadSummaryInput {
  sipp: { successful?: number; failed?: number; exitCode: number };
  placed: number;
  verdicts?: CallVerdicts;
  expected?: string[];
  /** Wire turns of every call (empty when there was no capture). */
  turns: WireTurn[];
  wireCalls: number;
  holesMs: number[];
  /** Process figures of callpilot over the run, when known. */
  cpuPercent?: number;
  rssPeakMb?: number;
  latencyTargetMs: number;
  holeTargetMs: number;
}

export interface LoadSummary {
  rows: Array<[string, string]>;
  failures: string[];
}

/** The summary a carrier reads: every call that went wrong for the bot is a failure, whatever SIPp says. */
export function summarizeLoad(i: LoadSummaryInput): LoadSummary {
  const failures: string[] = [];
  const rows: Array<[string, string]> = [];
  rows.push(['SIPp successful / failed calls', `${i.sipp.successful ?? '?'} / ${i.sipp.failed ?? '?'} (exit ${i.sipp.exitCode})`]);
  if (i.sipp.exitCode !== 0 || (i.sipp.failed ?? 0) > 0) failures.push(`SIPp reported ${i.sipp.failed ?? '?'} failed calls (exit ${i.sipp.exitCode})`);
  if (i.verdicts) {
    const v = i.verdicts;
    rows.push(['calls right for the bot', `${v.right} of ${i.placed} (expected ${i.expected?.join(' or ') ?? '?'})`]);
    if (v.wrong.length > 0) {
      const byDisposition = new Map<string, number>();
      for (const w of v.wrong) byDisposition.set(w.disposition, (byDisposition.get(w.disposition) ?? 0) + 1);
      const list = [...byDisposition].map(([d, n]) => `${d}=${n}`).join(', ');
      rows.push(['calls wrong', `${v.wrong.length}: ${list}; e.g. ${v.wrong.slice(0, 3).map((w) => w.id).join(', ')}`]);
      failures.push(`${v.wrong.length} of ${i.placed} calls ended wrong for the bot (${list})`);
    }
    if (v.missing > 0) failures.push(`${v.missing} calls SIPp placed have no record in callpilot`);
    if (v.stillActive > 0) failures.push(`${v.stillActive} calls are still active after the run`);
  } else {
    rows.push(['calls right for the bot', 'not checked (no --expect or no API access)']);
  }
  if (i.wireCalls > 0) {
    const lat = i.turns.flatMap((t) => (t.latencyMs === undefined ? [] : [t.latencyMs]));
    const unanswered = i.turns.filter((t) => t.latencyMs === undefined && !t.botTalking).length;
    const p50 = percentile(lat, 50);
    const p95 = percentile(lat, 95);
    const f = (v: number | undefined): string => (v === undefined ? 'n/a' : `${Math.round(v)} ms`);
    rows.push(['wire turn latency p50 / p95 / max', `${f(p50)} / ${f(p95)} / ${f(lat.length ? Math.max(...lat) : undefined)} over ${lat.length} turns in ${i.wireCalls} calls (target p95 <= ${i.latencyTargetMs} ms)`]);
    rows.push(['caller turns the bot never answered', String(unanswered)]);
    if (p95 !== undefined && p95 > i.latencyTargetMs) failures.push(`wire turn latency p95 ${Math.round(p95)} ms is over ${i.latencyTargetMs} ms`);
    if (lat.length === 0) failures.push('no turn latency could be measured on the wire (no caller speech followed by bot speech)');
    const maxHole = i.holesMs.length ? Math.max(...i.holesMs) : 0;
    rows.push(['holes in bot audio (no packets)', `${i.holesMs.length} over ${i.holeTargetMs} ms, max ${Math.round(maxHole)} ms`]);
    if (i.holesMs.length > 0) failures.push(`${i.holesMs.length} holes in the bot's audio (max ${Math.round(maxHole)} ms)`);
  } else {
    rows.push(['wire turn latency', 'not measured (no capture: --capture or --pcap)']);
  }
  rows.push(['callpilot CPU / peak RSS', `${i.cpuPercent === undefined ? 'n/a' : `${i.cpuPercent.toFixed(0)} % of one core`} / ${i.rssPeakMb === undefined ? 'n/a' : `${i.rssPeakMb.toFixed(0)} MB`}`]);
  return { rows, failures };
}
