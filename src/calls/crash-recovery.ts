import { readdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { encryptRecordingFolder, repairWavFile, type RecordingKeyring } from '../media/index.ts';
import type { CallEvent, CallRecord, CallStore, RecordingStorage, TurnRecord } from '../store/index.ts';

export interface RecoveryReport {
  /** WAV files whose header was repaired from their length. */
  wavsRepaired: number;
  /** Turns rebuilt from a caller's final that had no turn row. */
  turnsRestored: number;
  /** Recording files encrypted after their repair (store.recordingKey set). */
  wavsEncrypted: number;
}

/**
 * Completes what a crash left half-written for calls the store just marked interrupted: recordings get headers
 * that match their length, and a caller's final stored as an event whose turn row never came (the row is written
 * when the bot's answer starts playing) becomes a turn. Never rejects: a call it cannot complete is logged.
 */
export async function completeInterruptedCalls(
  calls: CallStore,
  interrupted: readonly CallRecord[],
  recordingsDir: string,
  log: Logger,
  keyring?: RecordingKeyring,
  storage?: RecordingStorage,
): Promise<RecoveryReport> {
  const report: RecoveryReport = { wavsRepaired: 0, turnsRestored: 0, wavsEncrypted: 0 };
  for (const call of interrupted) {
    const clog = log.child({ callId: call.id });
    try {
      report.wavsRepaired += await repairRecordings(call, recordingsDir, clog);
      // The call never reached its end, where recordings are encrypted: do it now that the headers are right.
      const dir = keyring ? recordingFolder(call, recordingsDir) : undefined;
      if (keyring && dir) report.wavsEncrypted += (await encryptRecordingFolder(dir, keyring)).length;
      // Now final: to the recording storage, like a call that ended (object storage: uploaded, local copy removed).
      const folder = recordingFolder(call, recordingsDir);
      if (storage && folder) await storage.commit(folder);
      const missing = turnsMissingFromEvents(call.id, await calls.listEvents(call.id), await calls.listTurns(call.id));
      for (const turn of missing) await calls.addTurn(turn);
      report.turnsRestored += missing.length;
      if (missing.length > 0) clog.warn({ turns: missing.map((t) => t.seq) }, 'restored turns from stored finals after a crash');
    } catch (err) {
      clog.error({ err }, 'completing an interrupted call failed');
    }
  }
  return report;
}

/** The call's recording folder, only when it lies under the recordings root, whatever a row says. */
function recordingFolder(call: CallRecord, recordingsDir: string): string | undefined {
  if (!call.recordingDir) return undefined;
  const root = resolve(recordingsDir);
  const dir = resolve(root, call.recordingDir);
  const inside = relative(root, dir);
  return inside.startsWith('..') || isAbsolute(inside) ? undefined : dir;
}

async function repairRecordings(call: CallRecord, recordingsDir: string, log: Logger): Promise<number> {
  const dir = recordingFolder(call, recordingsDir);
  if (!dir) return 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0; // never created (killed before the first frame)
  }
  let repaired = 0;
  for (const name of names) {
    if (!name.endsWith('.wav')) continue;
    const result = await repairWavFile(join(dir, name));
    if (result.fixed) {
      repaired++;
      log.warn({ file: name, fixed: result.fixed, dataBytes: result.dataBytes }, 'recording header repaired after a crash');
    }
  }
  return repaired;
}

/**
 * Caller finals with no turn row, as turns. A final is a turn unless the prompt it interrupted resumed (a
 * backchannel or noise: a `resume` event follows before the next final) or a stored turn already covers it.
 */
export function turnsMissingFromEvents(callId: string, events: readonly CallEvent[], turns: readonly TurnRecord[]): TurnRecord[] {
  const covered = new Set(turns.filter((t) => t.speechEndMs !== undefined).map((t) => `${t.speechEndMs}|${t.callerText}`));
  // Rows are written in order, after their final: only finals past the last stored turn can be missing one.
  const lastStoredEnd = turns.reduce((max, t) => Math.max(max, t.speechEndMs ?? -1), -1);
  let seq = turns.reduce((max, t) => Math.max(max, t.seq), 0);
  const restored: TurnRecord[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.type !== 'final') continue;
    const text = typeof e.data.text === 'string' ? e.data.text.trim() : '';
    const speechEndMs = typeof e.data.speechEndMs === 'number' ? e.data.speechEndMs : undefined;
    if (text === '' || speechEndMs === undefined || speechEndMs <= lastStoredEnd || covered.has(`${speechEndMs}|${text}`)) continue;
    let resumed = false;
    let bargeIn = false;
    let botText: string | undefined;
    for (let j = i + 1; j < events.length; j++) {
      const next = events[j]!;
      if (next.type === 'final') break;
      if (next.type === 'resume') resumed = true;
      if (next.type === 'bot' && botText === undefined && typeof next.data.text === 'string') botText = next.data.text;
    }
    for (let j = i - 1; j >= 0 && events[j]!.type !== 'final'; j--) if (events[j]!.type === 'bargeIn') bargeIn = true;
    if (resumed) continue;
    restored.push({
      callId,
      seq: ++seq,
      callerText: text,
      inputKind: 'speech',
      botText,
      speechStartMs: typeof e.data.speechStartMs === 'number' ? e.data.speechStartMs : undefined,
      speechEndMs,
      bargeIn,
      at: e.at,
    });
  }
  return restored;
}
