import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { captureLog } from '../support/log-capture.ts';

test('logger writes JSON lines with level label, ISO time and child callId', () => {
  const { stream, lines } = captureLog();
  const log = createLogger({ level: 'info' }, stream);
  log.child({ callId: 'c-1' }).info({ turn: 2 }, 'turn done');
  log.debug('hidden below level');
  const out = lines();
  assert.is(out.length, 1);
  assert.is(out[0].level, 'info');
  assert.is(out[0].callId, 'c-1');
  assert.is(out[0].turn, 2);
  assert.is(out[0].msg, 'turn done');
  assert.ok(!Number.isNaN(Date.parse(String(out[0].time))));
});

test('silent logger writes nothing', () => {
  const { stream, lines } = captureLog();
  createLogger({ level: 'silent' }, stream).error('nope');
  assert.is(lines().length, 0);
});

test('metrics live on their own registry and render in Prometheus text', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.turnLatency.observe(0.31);
  a.turnLatency.observe(0.9);
  a.bargeInStop.observe(0.015);
  a.activeCalls.inc();
  a.callsTotal.inc({ disposition: 'promised_to_pay', flow: 'demo', lang: 'zh', pbx: 'asterisk', transport: 'websocket' });
  a.lateFrames.inc(3);
  a.turnsTotal.inc();
  a.asrRealTimeFactor.set(0.12);
  const text = await a.render();
  assert.match(text, /callpilot_turn_latency_seconds_bucket\{le="0.35"\} 1/);
  assert.match(text, /callpilot_turn_latency_seconds_bucket\{le="0.05"\} 0/);
  assert.match(text, /callpilot_turn_latency_seconds_count 2/);
  assert.match(text, /callpilot_barge_in_stop_seconds_bucket\{le="0.02"\} 1/);
  assert.match(text, /callpilot_calls_total\{disposition="promised_to_pay",flow="demo",lang="zh",pbx="asterisk",transport="websocket"\} 1/);
  assert.match(text, /callpilot_late_frames_total 3/);
  assert.match(text, /callpilot_active_calls 1/);
  assert.match(text, /callpilot_asr_real_time_factor_ratio 0.12/);
  // Node/process metrics under their standard names, so stock dashboards find them.
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.not.match(text, /callpilot_process_|callpilot_nodejs_/);
  assert.match(text, /callpilot_build_info\{version="unknown",node_version="[0-9.]+"\} 1/);
  assert.match(a.contentType, /text\/plain/);
  // The second instance saw none of it.
  assert.not.match(await b.render(), /callpilot_turn_latency_seconds_count/);
});

test.run();
