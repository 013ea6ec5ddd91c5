/**
 * The turn-latency and barge-in bench: N concurrent simulated calls against a callpilot server started as a child
 * process, measured on the wire (client side), with the server's CPU and memory from /proc and its own figures
 * from /metrics and the stored call timelines. See bench/README.md.
 *
 *   npm run bench -- --calls 1,20,50 --model tiny
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallTimelineEvent } from '../src/dialog/index.ts';
import {
  MODEL_DIRS,
  asrModelSetting,
  appendResults,
  breakdownLine,
  fetchServerMetrics,
  gitCommit,
  machineInfo,
  parseBenchArgs,
  prepareVoices,
  readStoredTimelines,
  resultsSection,
  runLevel,
  serverBreakdown,
  startProcSampler,
  startServer,
  summarizeRtf,
  summarizeWire,
  tableRow,
  targetsLine,
  textTable,
  type BenchModel,
  type BenchOptions,
  type CallerVoices,
  type LevelResult,
} from './lib/index.ts';

const SERVER_GONE = 'the server ended during the run, not stopped by the bench';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const sharedModels = resolve(repoRoot, '../shared/models');

async function main(argv: string[]): Promise<number> {
  const opts = parseBenchArgs(argv, existsSync(join(sharedModels, MODEL_DIRS['cost-proxy'])));
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const machineBefore = machineInfo();
  const date = new Date();
  const commit = gitCommit(repoRoot);
  console.log(`${command}\ncommit ${commit}; ${machineBefore.nproc} × ${machineBefore.cpuModel}; load ${machineBefore.loadAvg}`);
  console.log(targetsLine());
  console.log('synthesizing caller lines with espeak-ng ...');
  const voices = await prepareVoices(opts.langs);

  const results: LevelResult[] = [];
  for (const model of opts.models) {
    for (const n of opts.calls) {
      let r = await runOne(model, n, opts, voices);
      if (r.error?.startsWith(SERVER_GONE)) {
        // Seen on a shared machine: another session's clean-up stopped every `callpilot.js start`. Retry once.
        console.log(`[${model} × ${n}] ${r.error}; retrying once`);
        r = await runOne(model, n, opts, voices);
      }
      results.push(r);
      console.log(textTable([tableRow(r)]).split('\n')[1]);
    }
  }
  const rows = results.map(tableRow);
  console.log(`\n${textTable(rows)}\n`);
  for (const r of results) console.log(breakdownLine(r));
  console.log(targetsLine());
  const notes = runNotes(results);
  for (const n of notes) console.log(`note: ${n}`);
  if (opts.write) {
    const loadAfter = loadavg().map((x) => x.toFixed(2)).join(' ');
    const path = join(repoRoot, 'bench', 'RESULTS.md');
    appendResults(path, resultsSection({ command, date, commit, machineBefore, loadAfter, results, notes }));
    console.log(`appended to ${path}`);
  }
  return results.some((r) => r.error) ? 1 : 0;
}

/** One concurrency level against a fresh server, so idle RSS and counters are this level's alone. */
async function runOne(model: BenchModel, n: number, opts: BenchOptions, voices: CallerVoices): Promise<LevelResult> {
  const loadAvgBefore = loadavg()[0]!;
  const base: LevelResult = {
    model,
    calls: n,
    wire: summarizeWire([]),
    server: serverBreakdown([]),
    clientCpuPercent: 0,
    clientLoopDelayP99Ms: 0,
    loadAvgBefore,
  };
  if (await answers(`http://127.0.0.1:${opts.port}/healthz`)) {
    return { ...base, error: `something already answers on port ${opts.port}; pick another with --port` };
  }
  const workDir = mkdtempSync(join(tmpdir(), 'callpilot-bench-'));
  console.log(`[${model} × ${n}] starting server (scratch ${workDir}) ...`);
  let server;
  try {
    server = await startServer({ repoRoot, port: opts.port, asrModel: asrModelSetting(model), workDir, record: opts.record, modelDirs: [sharedModels], logLevel: opts.logLevel, turnModel: opts.turnModel });
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    return { ...base, error: firstLine(err) };
  }
  const sampler = startProcSampler(server.pid, 500);
  let failed = true;
  try {
    // Let start-up work (model warm-up, JIT, GC of loading garbage) settle before "idle" is sampled.
    await sleep(3000);
    const idle = sampler.mark('idle');
    const before = await fetchServerMetrics(server.baseUrl, server.token);
    const rtfReadings: number[] = [];
    const poll = setInterval(() => {
      void fetchServerMetrics(server.baseUrl, server.token).then((m) => {
        if (m && (m.activeCalls ?? 0) > 0 && m.asrRealTimeFactor !== undefined) rtfReadings.push(m.asrRealTimeFactor);
      });
    }, 1000);
    sampler.mark('start');
    console.log(`[${model} × ${n}] ${n} call(s), starts spread over ${n > 1 ? opts.staggerMs : 0} ms ...`);
    const run = await runLevel({
      mediaUrl: `${server.baseUrl.replace(/^http/, 'ws')}/media`,
      token: server.token,
      n,
      langs: opts.langs,
      voices,
      staggerMs: opts.staggerMs,
      seed: opts.seed,
      onTimeline: opts.verbose ? (i, at, e) => console.log(`  call ${i} ${(at / 1000).toFixed(2).padStart(6)}s ${JSON.stringify(e)}`) : undefined,
    });
    if (opts.verbose) {
      for (const c of run.results) {
        console.log(`  call ${c.index} (${c.lang}) ${c.error ?? c.report?.endReason}`);
        for (const t of c.report?.turns ?? []) {
          console.log(`    ${t.mode.padEnd(11)} "${t.text}" latency ${t.latencyMs?.toFixed(0) ?? '-'} ms, barge-in stop ${t.bargeInStopMs?.toFixed(0) ?? '-'} ms`);
        }
      }
    }
    sampler.mark('end');
    clearInterval(poll);
    const died = server.exited();
    if (died) throw new Error(`${SERVER_GONE} (${died}); log ${server.logPath}`);
    const after = await fetchServerMetrics(server.baseUrl, server.token);
    if (!after) {
      // A server that no longer answers was stopped under us (a crash exits non-zero and shows in its log).
      throw new Error(`${SERVER_GONE}: it no longer answered /metrics at the end of the run (${server.exited() ?? 'still shutting down'}); log ${server.logPath}`);
    }
    const win = sampler.window('start', 'end');
    sampler.stop();
    await sleep(500); // the engine stores each call's last events after the socket closed
    const exit = await server.stop();
    let stored: Map<string, CallTimelineEvent[]> = new Map();
    try {
      stored = await readStoredTimelines(server.dbPath);
    } catch (err) {
      console.log(`[${model} × ${n}] could not read the stored timelines: ${firstLine(err)}; using the live notices`);
    }
    const timelines = run.results.map((c) => (c.report && stored.get(c.report.callId)) || c.timeline);
    const failures = run.results.filter((c) => c.error);
    if (failures.length > 0) console.log(`[${model} × ${n}] ${failures.length} call(s) failed, first: ${failures[0]!.error}`);
    const delta = (k: 'lateFrames' | 'droppedFrames'): number | undefined =>
      after?.[k] !== undefined ? after[k]! - (before?.[k] ?? 0) : undefined;
    const rtf = summarizeRtf(rtfReadings);
    const ends = new Map<string, number>();
    for (const c of run.results) {
      const reason = c.error ? 'error' : (c.report?.endReason ?? '?');
      ends.set(reason, (ends.get(reason) ?? 0) + 1);
    }
    console.log(`[${model} × ${n}] done in ${(run.wallMs / 1000).toFixed(1)} s; calls ended: ${[...ends].map(([k, v]) => `${k} ×${v}`).join(', ')}; server ${exit}`);
    failed = failures.length > 0;
    return {
      ...base,
      wire: summarizeWire(
        run.results.map((c) => ({
          turns: c.report?.turns,
          scriptedTurns: c.scriptedTurns,
          failed: c.error !== undefined,
          notices: c.timeline.map((event, i) => ({ event, at: c.timelineAt[i]! })),
        })),
      ),
      server: serverBreakdown(timelines),
      cpuPercent: win?.cpuPercent,
      peakCpuPercent: win?.peakCpuPercent,
      idleRssBytes: idle?.rssBytes,
      peakRssBytes: win?.peakRssBytes,
      rtfMean: rtf.mean,
      rtfMax: rtf.max,
      lateFrames: delta('lateFrames'),
      droppedFrames: delta('droppedFrames'),
      clientCpuPercent: run.clientCpuPercent,
      clientLoopDelayP99Ms: run.clientLoopDelayP99Ms,
      error: failures.length === n ? failures[0]!.error : undefined,
    };
  } catch (err) {
    return { ...base, error: firstLine(err) };
  } finally {
    sampler.stop();
    await server.stop();
    // On failure the db and server log are what explains it: keep them.
    if (opts.keep || failed) console.log(`[${model} × ${n}] kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

/** Caveats that change how a row should be read. */
function runNotes(results: readonly LevelResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    if (r.clientLoopDelayP99Ms > 20) {
      notes.push(
        `${r.model} ×${r.calls}: the bench process's own event loop lagged (p99 ${r.clientLoopDelayP99Ms.toFixed(0)} ms), so wire timestamps there can be late by that much`,
      );
    }
    if (r.loadAvgBefore > 1) notes.push(`${r.model} ×${r.calls}: load average ${r.loadAvgBefore.toFixed(2)} before the level (other work on the machine)`);
    if (r.wire.turnsSpoken < r.wire.turnsScripted) {
      notes.push(`${r.model} ×${r.calls}: ${r.wire.turnsScripted - r.wire.turnsSpoken} scripted turns never happened (the call ended earlier, or the bot never gave the prompt the turn waits for)`);
    }
  }
  return notes;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(500) });
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

process.exitCode = await main(process.argv.slice(2));
