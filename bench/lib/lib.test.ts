import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asrModelSetting, parseBenchArgs } from './args.ts';
import { serverBreakdown, summarizeWire } from './analysis.ts';
import { cpuPercent, parseProcStat, parseVmRss } from './proc.ts';
import { metricSum, parsePrometheusText, pickServerMetrics } from './prometheus.ts';
import { markdownTable, memoryPerCallMb, tableRow, type LevelResult } from './report.ts';
import { callScript, startOffsetMs } from './script.ts';
import { serverEnv, startServer } from './server.ts';
import { ModelNotFoundError } from '../../src/speech/index.ts';
import { distribution, percentile, seededRandom } from './stats.ts';
import { bucketStalls, paceBySecond } from './pace.ts';
import { occupancy } from './occupancy.ts';

test('percentile interpolates between ranks and handles edge cases', () => {
  assert.is(percentile([], 50), undefined);
  assert.is(percentile([7], 95), 7);
  assert.is(percentile([1, 2, 3, 4], 50), 2.5);
  assert.is(percentile([4, 3, 2, 1, 0], 100), 4);
  assert.is(percentile([0, 10], 95), 9.5);
  const d = distribution([1, 2, 3]);
  assert.is(d.n, 3);
  assert.is(d.max, 3);
});

test('seededRandom repeats for a seed and differs across seeds', () => {
  const a = seededRandom(5);
  const b = seededRandom(5);
  const c = seededRandom(6);
  const xs = [a(), a(), a()];
  assert.equal(xs, [b(), b(), b()]);
  assert.is.not(xs[0], c());
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('parseProcStat counts fields after the last parenthesis (names with spaces and parens)', () => {
  const line = '4242 (node (tsx) x) S 17 4242 17 0 -1 4194560 1 0 0 0 150 25 3 4 20 0 11 0 100 1000 200';
  const s = parseProcStat(line);
  assert.is(s.ppid, 17);
  assert.is(s.cpuTicks, 175);
});

test('parseVmRss reads kB and returns 0 without the line', () => {
  assert.is(parseVmRss('Name:\tnode\nVmRSS:\t  123456 kB\nThreads: 12\n'), 123456 * 1024);
  assert.is(parseVmRss('Name:\tzombie\n'), 0);
});

test('cpuPercent is percent of one core', () => {
  assert.is(cpuPercent({ cpuTicks: 0, rssBytes: 0 }, { cpuTicks: 150, rssBytes: 0 }, 1000, 100), 150);
  assert.is(cpuPercent({ cpuTicks: 0, rssBytes: 0 }, { cpuTicks: 1, rssBytes: 0 }, 0, 100), 0);
});

test('Prometheus text: labels, sums, comments', () => {
  const text = [
    '# HELP callpilot_late_frames_total x',
    '# TYPE callpilot_late_frames_total counter',
    'callpilot_late_frames_total 12',
    'callpilot_dropped_frames_total 0',
    'callpilot_asr_real_time_factor_ratio 0.0123',
    'callpilot_calls_total{disposition="refused"} 3',
    'callpilot_calls_total{disposition="a \\"q\\" b"} 2',
    'callpilot_active_calls 5',
    'callpilot_calls_refused_total{reason="overload",wire="media"} 2',
    'callpilot_calls_refused_total{reason="capacity",wire="media"} 1',
    'callpilot_asr_backlog_seconds 0.25',
    'callpilot_asr_echo_skipped_seconds_total 4.5',
  ].join('\n');
  const s = parsePrometheusText(text);
  assert.is(metricSum(s, 'callpilot_calls_total'), 5);
  assert.is(s.find((x) => x.value === 2)?.labels.disposition, 'a \\"q\\" b');
  assert.is(metricSum(s, 'nope'), undefined);
  assert.is(metricSum(s, 'callpilot_calls_total', { disposition: 'refused' }), 3);
  assert.is(metricSum(s, 'callpilot_calls_total', { disposition: 'none' }), undefined);
  assert.equal(pickServerMetrics(text), {
    asrRealTimeFactor: 0.0123,
    lateFrames: 12,
    droppedFrames: 0,
    turns: undefined,
    activeCalls: 5,
    asrBacklogSeconds: 0.25,
    refusedOverload: 2,
    echoSkippedSeconds: 4.5,
  });
});

test('bench args: defaults, lists, model choice', () => {
  const d = parseBenchArgs([], true);
  assert.equal(d.calls, [1, 20, 50, 100]);
  assert.equal(d.models, ['tiny', 'cost-proxy']);
  assert.equal(parseBenchArgs([], false).models, ['tiny']);
  const o = parseBenchArgs(['--calls', '1,20', '--model', 'cost-proxy', '--lang', 'en', '--no-write'], true);
  assert.equal(o.calls, [1, 20]);
  assert.equal(o.models, ['cost-proxy']);
  assert.equal(o.langs, ['en']);
  assert.is(o.write, false);
  assert.throws(() => parseBenchArgs(['--calls', '0'], true));
  // Any other model goes to the server's lookup: a name as given, a folder made absolute.
  assert.equal(parseBenchArgs(['--model', 'zh-en'], true).models, ['zh-en']);
  assert.equal(parseBenchArgs(['--model', './models/my-asr'], true).models, [resolve('models/my-asr')]);
  assert.throws(() => parseBenchArgs(['--model', ' '], true), /--model takes/);
  assert.is(asrModelSetting('tiny'), 'callpilot-tiny-zh-en');
  assert.is(asrModelSetting('cost-proxy'), 'callpilot-cost-proxy');
  assert.is(asrModelSetting('zh-en'), 'zh-en');
  assert.throws(() => parseBenchArgs(['--bogus'], true));
  const set = parseBenchArgs(['--set', 'server.maxAsrBacklogMs=0', '--set', 'speech.asr.skipEcho=false', '--echo-loss-db', '20'], true);
  assert.equal(set.serverEnv, { CALLPILOT_SERVER_MAX_ASR_BACKLOG_MS: '0', CALLPILOT_SPEECH_ASR_SKIP_ECHO: 'false' });
  assert.is(set.echoLossDb, 20);
  assert.equal(parseBenchArgs([], true).serverEnv, {});
  assert.throws(() => parseBenchArgs(['--set', 'novalue'], true));
  assert.is(d.turnModel, undefined);
  assert.is(parseBenchArgs(['--turn-model', 'models/turn.onnx'], true).turnModel, resolve('models/turn.onnx'));
});

test('a bench model that is not installed fails before the server is started, naming what was searched', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'bench-models-'));
  try {
    const spec = { repoRoot: empty, port: 1, asrModel: 'no-such-bench-model', workDir: join(empty, 'scratch'), record: false, modelDirs: [empty] };
    let error: unknown;
    await startServer(spec).catch((err: unknown) => {
      error = err;
    });
    assert.instance(error, ModelNotFoundError);
    assert.ok((error as ModelNotFoundError).searched.includes(join(empty, 'no-such-bench-model')), 'the bench folder was searched');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('serverEnv drops stray CALLPILOT_ variables and sets the bench ones', () => {
  const env = serverEnv(
    { repoRoot: '/r', port: 1234, asrModel: 'm', workDir: '/var/scratch/w', record: false, modelDirs: ['/s/models'] },
    { PATH: '/bin', CALLPILOT_SPEECH_ENDPOINT_TRAILING_SILENCE_MS: '100', CALLPILOT_MODELS: '/mine' },
  );
  assert.is(env.PATH, '/bin');
  assert.is(env.CALLPILOT_SPEECH_ENDPOINT_TRAILING_SILENCE_MS, undefined);
  assert.is(env.CALLPILOT_SERVER_PORT, '1234');
  assert.is(env.CALLPILOT_MEDIA_RECORD, 'false');
  assert.is(env.CALLPILOT_STORE_PATH, '/var/scratch/w/callpilot.db');
  assert.is(env.CALLPILOT_MODELS, '/s/models:/mine');
  assert.is(env.CALLPILOT_SPEECH_ENDPOINT_TURN_MODEL_PATH, undefined, 'no turn model unless the bench names one');
  const withModel = serverEnv({ repoRoot: '/r', port: 1, asrModel: 'm', workDir: '/w', record: false, modelDirs: [], turnModel: '/m/turn.onnx' }, {});
  assert.is(withModel.CALLPILOT_SPEECH_ENDPOINT_TURN_MODEL_PATH, '/m/turn.onnx');
});

test('call scripts are seeded and staggered evenly', () => {
  const a = callScript('zh', seededRandom(3));
  assert.equal(a, callScript('zh', seededRandom(3)));
  for (const t of a) {
    if (t.mode === 'bargeIn') assert.ok(t.bargeInAfterMs! >= 500 && t.bargeInAfterMs! <= 1100);
    else assert.ok(t.pauseMs! >= 250 && t.pauseMs! <= 900);
  }
  assert.is(startOffsetMs(0, 1, 2000), 0);
  assert.is(startOffsetMs(0, 5, 2000), 0);
  assert.is(startOffsetMs(4, 5, 2000), 2000);
});

test('summarizeWire counts no-replies, barge-ins and missing turns', () => {
  const w = summarizeWire([
    {
      scriptedTurns: 3,
      failed: false,
      turns: [
        { text: 'a', mode: 'afterPrompt', speechStartAt: 0, speechEndAt: 1, latencyMs: 300 },
        { text: 'b', mode: 'bargeIn', speechStartAt: 0, speechEndAt: 1, latencyMs: 400, bargeInStopMs: 90 },
      ],
    },
    { scriptedTurns: 3, failed: true },
    { scriptedTurns: 1, failed: false, turns: [{ text: 'c', mode: 'afterPrompt', speechStartAt: 0, speechEndAt: 1 }] },
  ]);
  assert.is(w.turnsScripted, 7);
  assert.is(w.turnsSpoken, 3);
  assert.is(w.noReply, 1);
  assert.is(w.failedCalls, 1);
  assert.is(w.latency.n, 2);
  assert.is(w.bargeInStop.p50, 90);
  assert.is(w.bargeInTurns, 1);
});

test('turns the server never transcribed are unheard and left out of latency', () => {
  const turns = [
    { text: 'a', mode: 'afterPrompt' as const, speechStartAt: 1000, speechEndAt: 1500, latencyMs: 300 },
    { text: 'b', mode: 'afterPrompt' as const, speechStartAt: 5000, speechEndAt: 5400, latencyMs: 5000 },
  ];
  const notices = [
    { at: 1700, event: { type: 'final' as const, text: 'a', speechStartMs: 0, speechEndMs: 0, atMs: 0, earlyEndpoint: true } },
    { at: 9000, event: { type: 'noInput' as const, atMs: 0 } },
  ];
  const w = summarizeWire([{ turns, scriptedTurns: 2, failed: false, notices }]);
  assert.is(w.unheard, 1);
  assert.is(w.latency.n, 1);
  assert.is(w.latency.p50, 300);
  assert.is(w.latencyAll.n, 2);
});

test('serverBreakdown pairs finals with the next reply', () => {
  const b = serverBreakdown([
    [
      { type: 'final', text: '请问你是谁', speechStartMs: 0, speechEndMs: 1000, atMs: 1700, earlyEndpoint: false },
      { type: 'botAudioStart', atMs: 1900, latencyMs: 900 },
      { type: 'bargeIn', atMs: 2500, heardMs: 600, stopMs: 40 },
      { type: 'final', text: '是的', speechStartMs: 2300, speechEndMs: 2800, atMs: 3000, earlyEndpoint: true },
      { type: 'botAudioStart', atMs: 3100, latencyMs: 300 },
      { type: 'final', text: '', speechStartMs: 0, speechEndMs: 0, atMs: 0, earlyEndpoint: false },
      { type: 'botAudioStart', atMs: 0 },
    ],
  ]);
  assert.is(b.finals, 2);
  assert.is(b.earlyEndpoints, 1);
  assert.is(b.endpointWait.p50, 700);
  assert.is(b.endpointWaitEarly.p50, 200);
  assert.equal([b.afterFinal.p50, b.afterFinal.n], [150, 2]);
  assert.is(b.serverBargeInStop.p50, 40);
});

test('table rows mark targets only at 50 calls; memory per call', () => {
  const base: LevelResult = {
    model: 'tiny',
    calls: 50,
    wire: summarizeWire([{ scriptedTurns: 1, failed: false, turns: [{ text: 'a', mode: 'bargeIn', speechStartAt: 0, speechEndAt: 1, latencyMs: 400, bargeInStopMs: 100 }] }]),
    server: serverBreakdown([]),
    idleRssBytes: 100 * 1024 * 1024,
    peakRssBytes: 600 * 1024 * 1024,
    clientCpuPercent: 10,
    clientLoopDelayP99Ms: 3,
    loadAvgBefore: 0.5,
  };
  assert.is(memoryPerCallMb(base), 10);
  const row = tableRow(base);
  assert.ok(row[3]!.endsWith('✗'));
  assert.ok(row[5]!.endsWith('✓'));
  assert.ok(row[8]!.endsWith('✓'));
  assert.not.ok(tableRow({ ...base, calls: 20 })[3]!.includes('✗'));
  assert.ok(markdownTable([row]).split('\n').length === 3);
});

test('paceBySecond counts whole seconds from the first event and those within the tolerance', () => {
  // 10 in second 0, 9 in second 1, 12 in second 2, then one event 0.5 s into second 3 (partial: left out).
  const times = [
    ...Array.from({ length: 10 }, (_, i) => i * 100),
    ...Array.from({ length: 9 }, (_, i) => 1000 + i * 100),
    ...Array.from({ length: 12 }, (_, i) => 2000 + i * 80),
    3500,
  ];
  const p = paceBySecond(times, 10);
  assert.is(p.events, 32);
  assert.is(p.wholeSeconds, 3);
  assert.is(p.perSecondMin, 9);
  assert.is(p.perSecondMax, 12);
  assert.is(p.secondsWithin, 1, 'only the second with 10 is within 5 % of 10');
  assert.is(p.achievedPerSec, +(31 / 3.5).toFixed(2));
  assert.is(paceBySecond(times, 10, 0.15).secondsWithin, 2);
  assert.is(paceBySecond([5], 10).achievedPerSec, 0);
});

test('occupancy weighs each sample by how long it held, inside the stretch only', () => {
  // 20 for 600 ms, 18 for 300 ms, 21 (over the cap) for 100 ms; samples before and after the stretch are left out.
  const samples = [
    { at: 0, live: 3 },
    { at: 1000, live: 20 },
    { at: 1600, live: 18 },
    { at: 1900, live: 21 },
    { at: 2500, live: 0 },
  ];
  const o = occupancy(samples, 20, 1000, 2000);
  assert.is(o.samples, 3);
  assert.ok(Math.abs(o.timeWeightedMean - (20 * 600 + 18 * 300 + 21 * 100) / 1000) < 1e-9, `${o.timeWeightedMean}`);
  assert.is(o.peak, 21);
  assert.is(o.over, 1);
  // 20 and 21 are within 5 % of 20 (19 or more); 18 is not.
  assert.ok(Math.abs(o.withinShare - 2 / 3) < 1e-9);
  assert.is(occupancy(samples, 20, 3000, 4000).samples, 0);
});

test('bucketStalls counts the gaps that overfill the bucket and the tokens it dropped', () => {
  // 10/s with a burst of 2 (200 ms): gaps of 100 ms lose nothing, one of 500 ms refills 5 and keeps 2.
  const s = bucketStalls([0, 100, 200, 700, 800], 10, 2);
  assert.is(s.gaps, 1);
  assert.is(s.longestGapMs, 500);
  assert.is(s.tokensLost, 3);
  assert.equal(bucketStalls([], 10, 2), { gaps: 0, longestGapMs: 0, tokensLost: 0 });
});

test.run();
