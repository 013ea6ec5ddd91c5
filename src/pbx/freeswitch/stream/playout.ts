import type { EslEvent } from '../esl/esl-message.ts';
/**
 * How FreeSWITCH plays the files a stream module wrote, as measured in captures i, i2, i3 (FreeSWITCH 1.11.1)
 * and read from mod_dptools' `file_string` source. The stream leg plans its playlists and reads its playout
 * truth with these numbers.
 */

/**
 * Leading silence `file_string://` plays before its first entry when that entry opens (12 packets = 240 ms
 * on the wire in capture i2; `variable_playback_ms` counts 250). When the first entry fails to open, the
 * module moves on to the next without the lead-in (the counter is only set for entry 0).
 */
export const PLAYLIST_LEAD_IN_MS = 250;

/** PLAYBACK_START to the first RTP packet of a file (capture i: 15 ms; i2: 2-15 ms). */
export const START_TO_WIRE_MS = 10;

/**
 * An entry reached before its file exists is skipped at once, and so is every later one (they are written in
 * order): a chunk joins a running playlist only while FreeSWITCH still has this much audio ahead of it.
 */
export const JOIN_SAFETY_MS = 80;

/** Entries one playlist lists ahead (file_string takes at most 128; the ESL command line stays near 2 KB). */
export const PLAYLIST_ENTRIES = 32;

/** Slack when FreeSWITCH's `playback_ms` is compared with the audio a playlist held. */
export const PLAYBACK_MS_TOLERANCE = 60;

/** A playlist whose first file was never announced is broadcast by its predicted path after this long. */
export const ANNOUNCE_WAIT_MS = 200;

/** The media module's file name for frame `n` of a stream session: `<temp>/<uuid>_<n>.tmp.<ext>` (capture i4). */
export interface FileNaming {
  /** Everything before `<n>`: `<temp_dir>/<uuid>_`. */
  prefix: string;
  /** Everything after `<n>`: `.tmp.r8`, `.tmp.r16`, ... */
  suffix: string;
  /** FreeSWITCH's `n` minus the leg's chunk index (0 unless a stream session was not fresh). */
  offset: number;
}

const ANNOUNCED_FILE = /^(.*_)(\d+)(\.tmp\.[a-z0-9]+)$/;

/** Learns the naming from one announced file and the leg's index of the chunk it holds. */
export function fileNamingFrom(file: string, chunkIndex: number): FileNaming | undefined {
  const m = ANNOUNCED_FILE.exec(file);
  if (!m) return undefined;
  return { prefix: m[1], suffix: m[3], offset: Number(m[2]) - chunkIndex };
}

/** The index a file of this naming holds, or undefined when it is not one of them. */
export function chunkIndexOf(naming: FileNaming, file: string): number | undefined {
  const m = ANNOUNCED_FILE.exec(file);
  if (!m || m[1] !== naming.prefix || m[3] !== naming.suffix) return undefined;
  return Number(m[2]) - naming.offset;
}

export function predictedFile(naming: FileNaming, chunkIndex: number): string {
  return `${naming.prefix}${chunkIndex + naming.offset}${naming.suffix}`;
}

/**
 * A path that never opens, listed first so `file_string` skips its 250 ms lead-in. It lives in the module's
 * own temp folder and has the module's extension, so it fails at open() and nowhere else.
 */
export function leadInSkipEntry(naming: FileNaming): string {
  return `${naming.prefix}none${naming.suffix}`;
}

/** The `file_string://` path of a playlist (also its `Playback-File-Path` in PLAYBACK_START/STOP). */
export function playlistPath(entries: readonly string[]): string {
  return `file_string://${entries.join('!')}`;
}

/** Shared by the legs of one adapter: what this FreeSWITCH was last seen doing with playlist lead-ins. */
export interface PlayoutCalibration {
  /** Lead-in silence a playlist starts with (0 when the skip entry works, 250 when it does not). */
  leadInMs: number;
}

/**
 * Given FreeSWITCH's `playback_ms` for a playlist that ended `done` and the durations of the chunks it held,
 * in order: how many chunks were played, and which lead-in explains the figure best. Entries are skipped
 * only from the first missing one on, so the played chunks are always a prefix.
 */
export function playedPrefix(playbackMs: number, chunkMs: readonly number[], leadInBelief: number): { played: number; leadInMs: number } {
  let best = { played: chunkMs.length, leadInMs: leadInBelief, error: Number.POSITIVE_INFINITY };
  for (const lead of [leadInBelief, leadInBelief === 0 ? PLAYLIST_LEAD_IN_MS : 0]) {
    let sum = lead;
    for (let j = 0; j <= chunkMs.length; j++) {
      const error = Math.abs(playbackMs - sum);
      // Ties keep the earlier candidate: the belief first, then the longer prefix found later wins only if closer.
      if (error < best.error - 1e-9) best = { played: j, leadInMs: lead, error };
      if (j < chunkMs.length) sum += chunkMs[j];
    }
  }
  if (best.error > PLAYBACK_MS_TOLERANCE) return { played: chunkMs.length, leadInMs: leadInBelief };
  return { played: best.played, leadInMs: best.leadInMs };
}

/** Ignore stamps further off than this (a clock stepped, a header that is not microseconds since the epoch). */
const MAX_STAMP_OFFSET_MS = 60_000;

/**
 * FreeSWITCH stamps every event when it creates it (`Event-Date-Timestamp`, microseconds since the epoch). Its
 * clock and ours differ by a fixed offset (another host) and each event by how late it was read. The smallest
 * read-minus-stamp seen is taken as the offset (the quickest delivery), so a stamp maps to when it happened on
 * our `performance.now()` clock, whatever the host's clock and however late this event was read.
 */
export class EventClock {
  private offsetMs = Number.POSITIVE_INFINITY;

  /** Every event read, as it is read. */
  observe(event: EslEvent, readAt = performance.now()): void {
    const stamp = stampMs(event);
    if (stamp === undefined) return;
    const offset = readAt - stamp;
    if (Math.abs(offset) < MAX_STAMP_OFFSET_MS) this.offsetMs = Math.min(this.offsetMs, offset);
  }

  /** When the event happened on our clock; undefined when it has no usable stamp. */
  when(event: EslEvent): number | undefined {
    const stamp = stampMs(event);
    if (stamp === undefined || !Number.isFinite(this.offsetMs)) return undefined;
    return stamp + this.offsetMs;
  }
}

/** `Event-Date-Timestamp` on the performance.now() time line (before any offset). */
function stampMs(event: EslEvent): number | undefined {
  const micros = Number(event.headers['Event-Date-Timestamp']);
  if (!Number.isFinite(micros) || micros <= 0) return undefined;
  return micros / 1000 - performance.timeOrigin;
}
