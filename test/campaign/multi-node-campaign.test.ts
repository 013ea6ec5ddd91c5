import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attemptClaimedAt } from '../../src/campaign/index.ts';
import { POSTGRES_URL } from '../store/postgres-harness.ts';
import { checkCampaignOutcome } from './crash-checks.ts';
import { runMultiNode } from './multi-node-run.ts';
import { maxInWindow, sharedBucketAllows } from './pace-checks.ts';

/**
 * Issue 14's multi-node test (the run itself: multi-node-run.ts): 3 node processes on one PostgreSQL, SIGKILLed and
 * restarted at random points of the campaign, the database cut for 10 s half-way, two campaigns through the
 * FreeSWITCH test peer. It asserts only what a busy machine cannot fake: never twice, never lost, every attempt
 * ended, nothing claimed while the database was away, rows complete after it, and the limits as UPPER bounds (the
 * capped campaign's live calls at the peer never above its cap; the paced campaign's claims, dated by the claim time
 * each originate at the peer carries, never more in any window than the shared token bucket allows). How close the
 * nodes come to the target pace is a throughput figure: `bench/campaign-scale.ts multinode` measures it.
 * Runs whenever TEST_POSTGRES_URL is set. Sizes: MULTI_NODE_CONTACTS (default 2000; the capped campaign gets a
 * quarter), MULTI_NODE_KILLS (20), MULTI_NODE_CPS (15), MULTI_NODE_OUTAGE_MS (10000), MULTI_NODE_SEED (random, printed).
 */
const CONTACTS = Number(process.env.MULTI_NODE_CONTACTS ?? 2000);
const KILLS = Number(process.env.MULTI_NODE_KILLS ?? 20);
const CPS = Number(process.env.MULTI_NODE_CPS ?? 15);
const OUTAGE_MS = Number(process.env.MULTI_NODE_OUTAGE_MS ?? 10_000);
const SEED = Number(process.env.MULTI_NODE_SEED ?? Math.floor(Math.random() * 1e9));
const NODES = 3;
const CAP = 20;
/** The capped campaign's answered calls last long enough that its places stay taken: the cap binds, so its bound means something. */
const CAPPED_TALK_MS = 2000;
/** Windows the pace is bounded over: one second, a few, and the whole run. */
const WINDOWS_MS = [1000, 5000, 10_000, 30_000];

/** A node's stderr on one line without its stack frames: CI's summary keeps only a failure's first line. */
function withoutStack(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l))
    .slice(-8)
    .join(' | ');
}

if (!POSTGRES_URL) {
  console.log('multi-node-campaign.test.ts: skipped, TEST_POSTGRES_URL is not set (.ci/run sets it; or eval "$(bash .ci/postgres.sh start)")');
} else {
  test(`${NODES} nodes on PostgreSQL, ${CONTACTS}+${CONTACTS / 4} contacts, ${KILLS} SIGKILLs and a ${OUTAGE_MS / 1000} s database outage: never twice, never lost, never above pace or cap`, async () => {
    const run = await runMultiNode({ nodes: NODES, contacts: CONTACTS, cappedContacts: CONTACTS / 4, cps: CPS, cap: CAP, kills: KILLS, outageMs: OUTAGE_MS, seed: SEED, talkMs: 150, cappedTalkMs: CAPPED_TALK_MS, finishTimeoutMs: 600_000 });
    try {
      for (const c of run.crashed) assert.unreachable(`${c.nodeId} exited by itself (${c.code}) mid-run: ${withoutStack(c.stderr)}`);
      for (const d of run.drained) assert.is(d.code, 0, `each node drains and exits cleanly: ${withoutStack(d.stderr)}`);
      assert.is(run.kills, KILLS, 'every kill landed');
      const ofCampaign = (gw: string) => run.originates.filter((o) => o.dial.includes(`/${gw}/`));
      const pacedReport = await checkCampaignOutcome(run.store, run.paced, ofCampaign('paced'), { contacts: CONTACTS, maxAttempts: 1 });
      const cappedReport = await checkCampaignOutcome(run.store, run.capped, ofCampaign('capped'), { contacts: CONTACTS / 4, maxAttempts: 1 });
      // Each kill landed mid-campaign: the paced campaign was still dialling after the last one.
      assert.ok(ofCampaign('paced').at(-1)!.at > run.disruptions.at(-1)!, 'the paced campaign had finished dialling before the last kill');

      // No rows lost through the outage: every completed attempt has its call record, ended.
      for (const id of [run.paced, run.capped]) {
        const attempts = await run.store.campaigns.listAttempts(id, { limit: 10_000 });
        for (const a of attempts.filter((x) => x.disposition === 'completed')) {
          const call = a.callId ? await run.store.calls.getCall(a.callId) : undefined;
          assert.ok(call, `completed attempt ${a.id} has no call record`);
          assert.is(call.status, 'ended', `call ${call.id} of a completed attempt is ${call.status}`);
        }
      }

      // Nothing claimed while the database was away: an originate the peer got during the outage is of an attempt
      // claimed before the cut (its claim committed, its dial on the way).
      const claimedAt = (o: { variables: Record<string, string> }) => attemptClaimedAt(o.variables.callpilot_attempt ?? '') ?? NaN;
      const duringOutage = run.outage ? run.originates.filter((o) => o.at >= run.outage!.from && o.at <= run.outage!.to) : [];
      const claimedDuring = duringOutage.filter((o) => !(claimedAt(o) < run.outage!.from));
      assert.equal(claimedDuring.map((o) => o.variables.callpilot_attempt), [], 'attempts claimed while the database was cut off');

      // The pace never above the target across nodes, by claim time (exact bound: pace-checks.ts).
      const claims = ofCampaign('paced').map(claimedAt).sort((a, b) => a - b);
      assert.ok(claims.every(Number.isFinite), 'every paced originate carries its claim time');
      const windows = [...WINDOWS_MS, claims.at(-1)! - claims[0]!].map((w) => ({ w, most: maxInWindow(claims, w), allowed: sharedBucketAllows(CPS, w, NODES) }));

      const cappedPeak = Math.max(0, ...run.cappedLive.map((s) => s.live));
      const outageDials = duringOutage.length;
      console.log(
        `multi-node: seed ${SEED}, ${NODES} nodes, ${run.kills} kills, outage ${OUTAGE_MS} ms (${outageDials} originates during it, all claimed before), ` +
          `${(run.runMs / 1000).toFixed(1)} s; paced ${JSON.stringify(pacedReport)}; claims per window (most/allowed) ` +
          `${windows.map((x) => `${x.w / 1000}s ${x.most}/${x.allowed}`).join(', ')}; capped ${JSON.stringify(cappedReport)} peak ${cappedPeak} live (cap ${CAP})`,
      );
      for (const x of windows) assert.ok(x.most <= x.allowed, `${x.most} paced claims within ${x.w} ms: the shared bucket allows ${x.allowed}`);
      assert.ok(cappedPeak <= CAP, `live calls of the capped campaign reached ${cappedPeak} > ${CAP}`);
    } finally {
      await run.close();
    }
  });
}

test.run();
