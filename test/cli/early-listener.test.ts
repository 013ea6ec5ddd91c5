import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCallpilot } from '../../src/app.ts';
import { guessListenAddress, listenEarly, PortInUseError } from '../../src/cli/early-listener.js';
import { configSchema } from '../../src/config/index.ts';
import type { SpeechEngine } from '../../src/speech/index.ts';
import { ScriptedSpeechEngine, ToneSpeaker } from '../engine/engine-fakes.ts';
import { REPO_ROOT } from '../support/e2e.ts';
import { testLog } from '../support/run-log.ts';

const work = mkdtempSync(join(tmpdir(), 'callpilot-early-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

interface Checks {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** Status of a WebSocket upgrade request (no WebSocket client: only who answers matters here). */
function upgradeStatus(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('early listener: /healthz 200 at once, /readyz 503 with the start stage, everything else 503', async () => {
  const early = await listenEarly('127.0.0.1', 0);
  try {
    const health = await fetch(`${early.url}/healthz`);
    assert.is(health.status, 200);
    assert.is(((await health.json()) as { ok: boolean }).ok, true);
    early.setStage('opening the store');
    const ready = await fetch(`${early.url}/readyz`);
    assert.is(ready.status, 503);
    const body = (await ready.json()) as Checks;
    assert.is(body.ready, false);
    assert.match(body.checks.startup!.detail!, 'opening the store');
    assert.match(body.checks.speech!.detail!, 'loading');
    const api = await fetch(`${early.url}/api/calls`, { method: 'POST', body: '{}' });
    assert.is(api.status, 503);
    assert.is(api.headers.get('retry-after'), '2');
    assert.is(await upgradeStatus(early.url, '/media'), 503);
  } finally {
    await early.close();
  }
  assert.is(early.server.listening, false);
});

test('early listener: a taken port fails at once with the address and what to do', async () => {
  const first = await listenEarly('127.0.0.1', 0);
  try {
    const port = (first.server.address() as { port: number }).port;
    const err = await listenEarly('127.0.0.1', port).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, PortInUseError);
    assert.match((err as Error).message, `127.0.0.1:${port}`);
    assert.match((err as Error).message, 'EADDRINUSE');
    assert.match((err as Error).message, 'CALLPILOT_SERVER_PORT');
  } finally {
    await first.close();
  }
});

test('guessListenAddress: defaults, the config file, --config, env overrides; undefined when unsure', async () => {
  const cwd = join(work, 'guess');
  mkdirSync(join(cwd, 'configs'), { recursive: true });
  assert.equal(await guessListenAddress([], {}, cwd), { host: '127.0.0.1', port: 8080 });
  writeFileSync(join(cwd, 'configs/callpilot.yaml'), 'server:\n  host: 0.0.0.0\n  port: 9001\n');
  assert.equal(await guessListenAddress([], {}, cwd), { host: '0.0.0.0', port: 9001 });
  writeFileSync(join(cwd, 'other.yaml'), 'server:\n  port: 9002\n');
  assert.equal(await guessListenAddress(['--config', 'other.yaml'], {}, cwd), { host: '127.0.0.1', port: 9002 });
  assert.equal(await guessListenAddress(['--config=other.yaml'], {}, cwd), { host: '127.0.0.1', port: 9002 });
  assert.equal(await guessListenAddress([], { CALLPILOT_CONFIG: 'other.yaml', CALLPILOT_SERVER_PORT: '9003' }, cwd), { host: '127.0.0.1', port: 9003 });
  assert.is(await guessListenAddress(['--config', 'missing.yaml'], {}, cwd), undefined);
  assert.is(await guessListenAddress(['--help'], {}, cwd), undefined);
  assert.is(await guessListenAddress(['--bogus'], {}, cwd), undefined);
  assert.is(await guessListenAddress([], { CALLPILOT_SERVER_PORT: 'abc' }, cwd), undefined);
  writeFileSync(join(cwd, 'broken.yaml'), 'server: [\n');
  assert.is(await guessListenAddress(['--config', 'broken.yaml'], {}, cwd), undefined);
});

test('the app takes the early socket over: /healthz answers while /readyz says loading, until the (slow) models are in', async () => {
  const dir = mkdtempSync(join(work, 'app-'));
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
    dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
  });
  const early = await listenEarly('127.0.0.1', 0);
  const stages: string[] = [];
  // The loader the test holds back: deterministic "models still loading", whatever the machine's speed.
  let finishLoading!: (engine: SpeechEngine) => void;
  const slowSpeech = new Promise<SpeechEngine>((resolve) => (finishLoading = resolve));
  let listening!: (url: string) => void;
  const listened = new Promise<string>((resolve) => (listening = resolve));
  const starting = startCallpilot(config, {
    log: testLog(),
    cwd: REPO_ROOT,
    prebound: early,
    onStage: (stage) => {
      stages.push(stage);
      early.setStage(stage);
    },
    onListening: listening,
    speech: slowSpeech,
    speaker: new ToneSpeaker(),
  });
  starting.catch(() => undefined);
  const url = await listened;
  assert.is(url, early.url, 'the same socket, not a second one');
  assert.ok(stages.includes('opening the store'), stages.join(', '));

  const health = await fetch(`${url}/healthz`);
  assert.is(health.status, 200);
  const loading = await fetch(`${url}/readyz`);
  assert.is(loading.status, 503);
  const loadingBody = (await loading.json()) as Checks;
  assert.is(loadingBody.checks.speech!.ok, false);
  assert.match(loadingBody.checks.speech!.detail!, /loading ASR\+VAD/);
  assert.is(loadingBody.checks.startup, undefined, 'fastify answers now, not the early listener');
  // Routes and WebSocket upgrades reach the full server: no credentials is 401, not the early listener's 503.
  assert.is((await fetch(`${url}/api/calls`)).status, 401);
  assert.is(await upgradeStatus(url, '/media'), 401);

  finishLoading(new ScriptedSpeechEngine());
  const app = await starting;
  try {
    const ready = await fetch(`${url}/readyz`);
    assert.is(ready.status, 200, JSON.stringify(await ready.clone().json()));
    assert.is(((await ready.json()) as Checks).ready, true);
  } finally {
    await app.close();
  }
  assert.is(early.server.listening, false, 'closing the app closes the early socket');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
