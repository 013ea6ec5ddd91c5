import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFlowDialogFactory } from '../../src/dialog/flow/index.ts';
import type { BotAction } from '../../src/dialog/types.ts';
import { testLog } from '../support/run-log.ts';

const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const log = testLog();
const llmOff = { enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'none', timeoutMs: 200 };
const ctx = (flow?: string, lang: 'zh' | 'en' = 'zh') => ({ callId: 'c1', lang, flow, direction: 'outbound' as const, variables: {} });
const text = (a: BotAction): string => (a.kind === 'say' ? a.text : a.text ?? '');

async function waitFor(check: () => boolean, ms = 4000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

test('hot reload: new calls get the new version, live calls keep theirs, broken edits are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flows-reload-'));
  const file = join(dir, 'demo.zh.yaml');
  copyFileSync(join(flowsDir, 'demo.zh.yaml'), file);
  const factory = await createFlowDialogFactory({ flowsDir: dir, defaultFlow: 'demo', defaultLang: 'zh', llm: llmOff, log });
  try {
    const v1 = factory.flow('demo', 'zh')!.version;
    const live = factory.create(ctx());
    const oldGreeting = text(await live.begin());
    assert.ok(oldGreeting.includes('小智科技'));

    writeFileSync(file, readFileSync(file, 'utf8').replace('company: { default: 小智科技 }', 'company: { default: 新名字公司 }'));
    assert.ok(await waitFor(() => factory.flow('demo', 'zh')!.version !== v1), 'reload not seen');
    const v2 = factory.flow('demo', 'zh')!.version;

    const fresh = factory.create(ctx());
    assert.ok(text(await fresh.begin()).includes('新名字公司'));
    // The live call still speaks its own version.
    assert.is(text(await live.next({ kind: 'speech', text: '再说一遍' })), oldGreeting);
    assert.is(live.variables().flow_version, v1);
    assert.is(fresh.variables().flow_version, v2);

    writeFileSync(file, 'flow: demo\nlang: zh\nsteps: [oops\n');
    await new Promise((r) => setTimeout(r, 400));
    assert.is(factory.flow('demo', 'zh')!.version, v2, 'a broken file must not replace the live version');
    const problems = factory.reload(file);
    assert.ok(problems.some((p) => p.severity === 'error' && p.code === 'yaml-syntax'));
    assert.is(factory.flow('demo', 'zh')!.version, v2);
  } finally {
    factory.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('factory: default flow, language fallback and a clear error for unknown flows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flows-lang-'));
  copyFileSync(join(flowsDir, 'demo.zh.yaml'), join(dir, 'demo.zh.yaml'));
  const factory = await createFlowDialogFactory({ flowsDir: dir, defaultFlow: 'demo', defaultLang: 'zh', llm: llmOff, log, watch: false });
  try {
    assert.equal(factory.flows(), { demo: ['zh'] });
    assert.ok(text(await factory.create(ctx(undefined)).begin()).includes('您好'));
    assert.ok(text(await factory.create(ctx('demo', 'en')).begin()).includes('您好'));
    assert.throws(() => factory.create(ctx('no_such_flow')), /no flow "no_such_flow".*known: demo/);
  } finally {
    factory.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const webhookFlow = (url: string, llm: boolean): string => `
flow: hooks
lang: en
start: ask
settings: { llm_fallback: ${llm} }
intents:
  hardship: { description: cannot pay for money reasons, keywords: [no money] }
defaults:
  no_input: { retries: 0, goto: bye }
  no_match: { retries: 0, goto: lost }
steps:
  ask:
    say: "Shall I check?"
    on:
      yes: check
      hardship: helped
  check:
    webhook:
      url: "${url}/status"
      timeout_ms: 3000
      save: { account_state: data.state }
      branches:
        - when: { path: data.state, in: [open, pending] }
          goto: open
      default: closed
      on_error: failed
  open: { say: "Open {{account_state}}.", end: open }
  closed: { end: closed }
  failed: { end: webhook_failed }
  helped: { end: hardship_noted }
  lost: { end: no_match }
  bye: { end: no_answer }
`;

test('webhook: branches on JSON, saves fields, falls back on timeout; LLM names unmatched intents', async () => {
  let delayMs = 0;
  let state = 'open';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const reply = (): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.url?.endsWith('/chat/completions')) {
          const intent = body.includes('my wallet is empty') ? 'hardship' : 'none';
          res.end(JSON.stringify({ choices: [{ message: { content: `{"intent":"${intent}","confidence":0.9}` } }] }));
        } else res.end(JSON.stringify({ data: { state } }));
      };
      if (delayMs) setTimeout(reply, delayMs).unref();
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'flows-hook-'));
  writeFileSync(join(dir, 'hooks.yaml'), webhookFlow(base, true));
  const llm = { enabled: true, baseUrl: `${base}/v1`, model: 'stub', timeoutMs: 1000 };
  const factory = await createFlowDialogFactory({ flowsDir: dir, defaultFlow: 'hooks', defaultLang: 'en', llm, log, watch: false });
  try {
    const run = async (answer: string): Promise<{ last: BotAction; vars: Record<string, string> }> => {
      const s = factory.create(ctx('hooks', 'en'));
      await s.begin();
      const last = await s.next({ kind: 'speech', text: answer });
      return { last, vars: s.variables() };
    };
    const open = await run('yes');
    assert.equal(open.last, { kind: 'end', text: 'Open open.', disposition: 'open' });
    assert.is(open.vars.account_state, 'open');
    state = 'closed';
    assert.is((await run('yes')).vars.disposition, 'closed');
    delayMs = 8000; // far past the flow's timeout, which is generous so a busy machine does not time out the fast replies
    const slow = await run('yes');
    assert.is(slow.vars.disposition, 'webhook_failed');
    assert.is(slow.vars.webhook_status, 'timeout');
    delayMs = 0;
    assert.is((await run('well my wallet is empty these days')).vars.disposition, 'hardship_noted');
    assert.is((await run('purple elephants')).vars.disposition, 'no_match');
  } finally {
    factory.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
