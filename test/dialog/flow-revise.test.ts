import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BotAction } from '../../src/dialog/index.ts';
import { consentSession as session } from './fixtures/consent-flow.ts';

const text = (a: BotAction | undefined): string | undefined => (a && 'text' in a ? a.text : undefined);

test('a revised turn is decided again from the step before it, on the whole turn', async () => {
  const s = session();
  await s.begin();
  const first = await s.next({ kind: 'speech', text: '是的' });
  assert.is(text(first), '好的，已为您登记。您看哪天方便？');
  assert.is(s.variables().consent, 'given');
  assert.ok(s.revisable());
  const again = await s.revise({ kind: 'speech', text: '是的，哦不对，我不同意' });
  assert.equal(again, { kind: 'end', text: '好的，不打扰您了，再见。', disposition: 'declined' });
  assert.is(s.understanding()?.intent, 'no');
  // What the withdrawn answer set is gone with it.
  assert.is(s.variables().consent, undefined);
  assert.is(s.variables().disposition, 'declined');
  assert.is(s.variables().last_step, 'declined');
});

test('a revise after an end goes back into the call (the end was the withdrawn answer)', async () => {
  const s = session();
  await s.begin();
  // A filler before the pause heard as 不 ended the call; the whole turn is heard right.
  const end = await s.next({ kind: 'speech', text: '不' });
  assert.is(end.kind, 'end');
  assert.ok(s.revisable());
  const again = await s.revise({ kind: 'speech', text: '嗯，同意' });
  assert.is(again?.kind, 'say');
  assert.is(text(again), '好的，已为您登记。您看哪天方便？');
  // The call goes on from the offer step.
  assert.is((await s.next({ kind: 'speech', text: '明天' })).kind, 'end');
  assert.is(s.variables().disposition, 'agreed');
});

test('only the latest speech turn can be revised, and only once', async () => {
  const s = session();
  await s.begin();
  await s.next({ kind: 'speech', text: '是的' });
  await s.revise({ kind: 'speech', text: '是的是的' });
  // The revise itself is the latest speech turn now: it can be revised in turn.
  assert.ok(s.revisable());
  await s.next({ kind: 'noInput' });
  assert.not.ok(s.revisable(), 'a no-input after the turn');
  assert.is(s.revise({ kind: 'speech', text: '不要' }), undefined);
  await s.next({ kind: 'dtmf', digits: '1' });
  assert.not.ok(s.revisable(), 'a key press is no speech');
});

test('an answer that reached the do-not-call ledger or a webhook cannot be taken back', async () => {
  const recorded: string[] = [];
  const s = session({ doNotCall: async (r) => void recorded.push(r.words) });
  await s.begin();
  await s.next({ kind: 'speech', text: '别再打了' });
  assert.equal(recorded, ['别再打了']);
  assert.not.ok(s.revisable());
  assert.is(s.revise({ kind: 'speech', text: '别再打了……算了，我同意' }), undefined);
  assert.is(s.variables().disposition, 'do_not_call');

  let hooks = 0;
  const w = session({ fetch: async () => (hooks++, new Response('{"status":"ok"}', { status: 200 })) });
  await w.begin();
  await w.next({ kind: 'speech', text: '不感兴趣' });
  assert.is(hooks, 1);
  assert.not.ok(w.revisable());
  assert.is(w.revise({ kind: 'speech', text: '不感兴趣……不过可以听听' }), undefined);
});

test('a branch (an assistant answered) supersedes the last turn: it can no longer be taken back', async () => {
  const s = session({ assistant: true });
  await s.begin();
  await s.next({ kind: 'speech', text: '是的' });
  assert.ok(s.revisable());
  assert.ok(s.branch('assistant'));
  assert.not.ok(s.revisable());
});

test('a turn before the greeting was answered, or after the flow ended on its own, is not revisable', async () => {
  const s = session();
  assert.not.ok(s.revisable());
  await s.begin();
  await s.next({ kind: 'speech', text: '不同意' });
  // The flow has ended: a further input gets the same end, and is no new turn to revise.
  await s.next({ kind: 'speech', text: '再见' });
  assert.not.ok(s.revisable());
});

test.run();
