import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAdmission, type LoadProbe, type RefusalReason } from '../../src/calls/index.ts';

/** Admission control on a measured load (issue 12): the probe is injected, so the test sets the backlog itself. */
function backlogProbe(limitMs: number): LoadProbe & { ms: number } {
  return {
    name: 'ASR backlog',
    setting: 'server.maxAsrBacklogMs',
    limitMs,
    ms: 0,
    currentMs() {
      return this.ms;
    },
  };
}

test('over the backlog limit a new call is refused with reason overload and a detail naming the figures; under it, admitted again', () => {
  const refusals: Array<[RefusalReason, string]> = [];
  const probe = backlogProbe(400);
  const admission = new CallAdmission({ maxCalls: 5, overload: probe, onRefused: (reason, wire) => refusals.push([reason, wire]) });
  const first = admission.tryAdmit('media');
  assert.ok(first.ok);
  probe.ms = 850.4;
  const refused = admission.tryAdmit('asterisk');
  assert.equal(refused, { ok: false, reason: 'overload', detail: 'callpilot is overloaded: ASR backlog 850 ms over the 400 ms limit (server.maxAsrBacklogMs)' });
  assert.equal(refusals, [['overload', 'asterisk']]);
  assert.is(admission.free, 0, 'the dialer claims nothing while overloaded');
  assert.is(admission.inUse, 1, 'the call already up keeps its place');
  probe.ms = 400;
  assert.is(admission.free, 4, 'at the limit is not over it');
  assert.ok(admission.tryAdmit('outbound').ok);
  assert.is(admission.inUse, 2);
  assert.is(refusals.length, 1);
});

test('overload is checked before maxCalls, draining before overload', () => {
  const probe = backlogProbe(300);
  const admission = new CallAdmission({ maxCalls: 1, overload: probe });
  assert.ok(admission.tryAdmit('media').ok);
  probe.ms = 500;
  assert.is((admission.tryAdmit('media') as { reason: RefusalReason }).reason, 'overload');
  probe.ms = 0;
  assert.is((admission.tryAdmit('media') as { reason: RefusalReason }).reason, 'capacity');
  probe.ms = 500;
  admission.startDraining();
  assert.is((admission.tryAdmit('media') as { reason: RefusalReason }).reason, 'draining');
});

test('without a probe only maxCalls and draining refuse', () => {
  const admission = new CallAdmission({ maxCalls: 2 });
  assert.ok(admission.tryAdmit('media').ok);
  assert.is(admission.free, 1);
});

/** The ramp (server.rampCalls) on an injected clock and backlog: no wall-clock timing anywhere. */
function rampAdmission(opts: { calls: number; windowMs: number; limitMs?: number; maxCalls?: number }) {
  const clock = { ms: 0 };
  const probe = backlogProbe(opts.limitMs ?? 300);
  const refusals: RefusalReason[] = [];
  const admission = new CallAdmission({
    maxCalls: opts.maxCalls ?? 100,
    overload: probe,
    ramp: { calls: opts.calls, windowMs: opts.windowMs },
    now: () => clock.ms,
    onRefused: (reason) => refusals.push(reason),
  });
  const admitMany = (n: number): number => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (admission.tryAdmit('media').ok) ok++;
    return ok;
  };
  return { clock, probe, refusals, admission, admitMany };
}

test('ramp: a burst gets rampCalls at once; the next are refused (overload, naming the keys) until the window has passed', () => {
  const { clock, refusals, admission, admitMany } = rampAdmission({ calls: 4, windowMs: 10_000 });
  assert.is(admission.free, 4, 'the dialer may claim the ramp, not maxCalls');
  assert.is(admitMany(4), 4);
  assert.is(admission.free, 0);
  const refused = admission.tryAdmit('asterisk');
  assert.equal(refused, {
    ok: false,
    reason: 'overload',
    detail: 'callpilot is ramping up: 4 calls admitted in the last 10 s are not measured yet and 4 are allowed (server.rampCalls, server.rampWindowMs)',
  });
  assert.equal(refusals, ['overload']);
  assert.equal(admission.rampState, { unproven: 4, allowance: 4 });
  clock.ms = 9_999;
  assert.not.ok(admission.tryAdmit('media').ok, 'still inside the window');
  clock.ms = 10_000;
  // The 4 calls up are now measured and the backlog is low: the allowance doubles the calls up.
  assert.equal(admission.rampState, { unproven: 0, allowance: 4 });
  assert.is(admitMany(10), 4);
  assert.is(admission.inUse, 8);
  clock.ms = 20_000;
  assert.equal(admission.rampState, { unproven: 0, allowance: 8 });
  assert.is(admitMany(10), 8, 'slow start: the calls up at most double per window');
  assert.is(admission.inUse, 16);
});

test('ramp: over half the backlog limit the allowance is rampCalls shrunk with the headroom left; at the limit none', () => {
  const { clock, probe, admission, admitMany } = rampAdmission({ calls: 4, windowMs: 10_000, limitMs: 300 });
  assert.is(admitMany(4), 4);
  clock.ms = 10_000;
  assert.is(admitMany(4), 4);
  clock.ms = 20_000;
  // 8 calls up and measured: 8 allowed with headroom...
  assert.is(admission.free, 8);
  probe.ms = 151;
  // ...back to rampCalls (4) once the backlog is over half the 300 ms limit, shrinking as it rises.
  assert.equal(admission.rampState, { unproven: 0, allowance: 3 });
  probe.ms = 225;
  assert.equal(admission.rampState, { unproven: 0, allowance: 2 });
  assert.is(admission.free, 2);
  assert.is(admitMany(10), 2);
  probe.ms = 150;
  assert.is(admission.free, 6, 'at half the limit the grown allowance is back (8), 2 of it taken');
  probe.ms = 300;
  assert.is(admission.free, 0, 'at the limit the ramp allows nothing new');
  assert.match((admission.tryAdmit('media') as { detail: string }).detail, /ramping up: 2 calls .* and 0 are allowed/);
  probe.ms = 301;
  assert.is(admission.free, 0);
  assert.is((admission.tryAdmit('media') as { detail: string }).detail, 'callpilot is overloaded: ASR backlog 301 ms over the 300 ms limit (server.maxAsrBacklogMs)');
});

test('ramp: a call that ends frees its unproven place; one that lasts past the window counts as measured', () => {
  const { clock, admission } = rampAdmission({ calls: 2, windowMs: 5_000 });
  const a = admission.tryAdmit('media');
  const b = admission.tryAdmit('media');
  assert.ok(a.ok && b.ok);
  assert.not.ok(admission.tryAdmit('media').ok);
  a.ticket.release();
  a.ticket.release();
  assert.is(admission.free, 1, 'an ended call has no load to measure');
  assert.ok(admission.tryAdmit('media').ok);
  clock.ms = 5_000;
  assert.equal(admission.rampState, { unproven: 0, allowance: 2 });
  b.ticket.release();
  assert.is(admission.inUse, 1);
});

test('ramp: an outbound call counts from its answer, not while it rings; the answer is never refused', () => {
  const { clock, admission } = rampAdmission({ calls: 2, windowMs: 10_000 });
  const ringing = [1, 2, 3].map(() => admission.tryAdmit('outbound', { answerLater: true }));
  assert.ok(ringing.every((r) => r.ok), 'ringing calls cost the ASR nothing: not bounded by the ramp');
  assert.is(admission.inUse, 3);
  assert.equal(admission.rampState, { unproven: 0, allowance: 2 });
  clock.ms = 30_000;
  for (const r of ringing) if (r.ok) r.ticket.answered?.();
  assert.equal(admission.rampState, { unproven: 3, allowance: 2 }, 'three answers at once are all taken, and counted');
  assert.is(admission.free, 0, 'the dialer claims nothing more until they are measured');
  assert.not.ok(admission.tryAdmit('outbound', { answerLater: true }).ok);
  clock.ms = 40_000;
  assert.equal(admission.rampState, { unproven: 0, allowance: 3 });
});

test('ramp: maxCalls still bounds it, and the ramp option is checked', () => {
  const { clock, admission, admitMany } = rampAdmission({ calls: 4, windowMs: 1_000, maxCalls: 6 });
  assert.is(admitMany(4), 4);
  clock.ms = 1_000;
  assert.is(admission.free, 2);
  assert.is(admitMany(4), 2);
  assert.is((admission.tryAdmit('media') as { reason: RefusalReason }).reason, 'capacity');
  assert.throws(() => new CallAdmission({ maxCalls: 5, ramp: { calls: 0, windowMs: 1000 } }), /ramp/);
  assert.throws(() => new CallAdmission({ maxCalls: 5, ramp: { calls: 2, windowMs: 0 } }), /ramp/);
});

test('ramp: with the ASR busy share measured, growth is held to the calls that fit at the measured cost per call', () => {
  const clock = { ms: 0 };
  const asr = { busy: 0 as number | undefined };
  const admission = new CallAdmission({ maxCalls: 200, ramp: { calls: 10, windowMs: 10_000, busy: () => asr.busy }, now: () => clock.ms });
  const admitMany = (n: number): number => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (admission.tryAdmit('media').ok) ok++;
    return ok;
  };
  asr.busy = 0.9;
  assert.is(admitMany(20), 10, 'nothing measured yet (no call up past the window): rampCalls, whatever the busy share');
  clock.ms = 10_000;
  // 10 measured calls keep the ASR 35 % busy: 10 more fit under 70 %.
  asr.busy = 0.35;
  assert.equal(admission.rampState, { unproven: 0, allowance: 10 });
  asr.busy = 0.1;
  assert.equal(admission.rampState, { unproven: 0, allowance: 10 }, 'room for 60 more: still at most doubling');
  asr.busy = 0.5;
  assert.equal(admission.rampState, { unproven: 0, allowance: 4 }, '10 x 0.7 / 0.5 = 14 calls fit: 4 more');
  assert.is(admitMany(10), 4);
  clock.ms = 20_000;
  asr.busy = 0.7;
  assert.equal(admission.rampState, { unproven: 0, allowance: 0 }, 'at 70 % busy nothing more, though no backlog is measured');
  assert.is(admission.free, 0, 'the dialer claims nothing');
  assert.match((admission.tryAdmit('media') as { detail: string }).detail, /ramping up: 0 calls .* and 0 are allowed/);
  asr.busy = undefined;
  assert.equal(admission.rampState, { unproven: 0, allowance: 14 }, 'no measure (speech still loading): the slow start alone');
  asr.busy = 0;
  assert.equal(admission.rampState, { unproven: 0, allowance: 14 }, 'calls up but nothing decoded in the window: the slow start alone');
});

test.run();
