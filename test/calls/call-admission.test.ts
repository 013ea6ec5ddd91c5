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

test.run();
