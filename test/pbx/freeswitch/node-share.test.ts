import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PbxCall } from '../../../src/pbx/index.ts';
import { rig, teardown } from './harness.ts';
import { patient } from '../../support/wait.ts';

test('two nodes on one FreeSWITCH each take only the parked calls the dialplan marked for them (inboundValue)', async () => {
  // One FreeSWITCH, one adapter per node: every node sees every CHANNEL_PARK on its ESL connection.
  const a = await rig({ inboundVariable: 'callpilot', inboundValue: 'node-a' });
  try {
    await a.adapter.start();
    const taken: PbxCall[] = [];
    a.adapter.on('call', (call) => taken.push(call));
    const forB = await a.fs.placeInboundCall({ callerId: '13800138000', variables: { callpilot: 'node-b' } });
    const unmarked = await a.fs.placeInboundCall({ callerId: '13800138001' });
    const forA = await a.fs.placeInboundCall({ callerId: '13800138002', variables: { callpilot: 'node-a' } });
    const deadline = Date.now() + patient(5000);
    while (taken.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Give the events of the other two calls (placed earlier) every chance to have been taken too.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(
      taken.map((c) => c.info.pbxCallId),
      [forA.uuid],
      `node-a took only its own call (not ${forB.uuid} for node-b, not the unmarked ${unmarked.uuid})`,
    );
  } finally {
    await teardown(a);
  }
});

test.run();
