import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { FakeFreeswitch } from '../pbx/freeswitch/peer/fake-freeswitch.ts';
import { ALWAYS_OPEN_PROFILE, checkCampaignOutcome, numbers, outcomeOf } from './crash-checks.ts';
import { killNode, seeded, sleep, startNode, type NodeProc } from './node-procs.ts';
import { patient } from '../support/wait.ts';

/**
 * Issue 11's crash test: one callpilot node (a child process on a SQLite file) runs a campaign through the
 * FreeSWITCH test peer and is SIGKILLed at random moments while it dials, then restarted each time. The peer counts
 * every originate. Sizes: CRASH_CAMPAIGN_CONTACTS (default 500), CRASH_CAMPAIGN_KILLS (default 20),
 * CRASH_CAMPAIGN_SEED (default: random, printed).
 */
const CONTACTS = Number(process.env.CRASH_CAMPAIGN_CONTACTS ?? 500);
const KILLS = Number(process.env.CRASH_CAMPAIGN_KILLS ?? 20);
const SEED = Number(process.env.CRASH_CAMPAIGN_SEED ?? Math.floor(Math.random() * 1e9));

test(`SIGKILL at ${KILLS} random moments during a ${CONTACTS}-contact campaign: no duplicate dial, no lost outcome`, async () => {
  const random = seeded(SEED);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-crash-campaign-'));
  const fs = new FakeFreeswitch({ timeScale: 0.02, seed: SEED });
  fs.setCallee((dial) => outcomeOf(dial));
  const eslPort = await fs.listen();
  const dbPath = join(dir, 'callpilot.db');
  let node: NodeProc | undefined;
  try {
    {
      const store = openSqliteStore(dbPath);
      const service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: { ...BUILTIN_PROFILES, always: ALWAYS_OPEN_PROFILE }, callerIdPool: [], defaultCountry: 'CN' });
      const c = await service.create({ name: 'crash', flow: 'demo', dialPattern: 'sofia/gateway/gw/{national}', profile: 'always', expectedCallSec: 0, cps: 30, maxConcurrent: 10, retry: { maxAttempts: 1 } });
      await store.campaigns.addContacts(c.id, numbers(CONTACTS).map((n) => ({ number: n, role: 'debtor' as const, variables: {} })), new Date().toISOString());
      await service.act(c.id, 'start');
      await store.close();
    }
    const args = { sqlite: dbPath, eslPort, nodeId: 'crash-node', maxCalls: 50, leaseMs: 30_000, heartbeatMs: 5000, talkMs: 150 };
    let kills = 0;
    let runs = 0;
    const killedAt: number[] = [];
    while (kills < KILLS) {
      node = startNode(args);
      runs++;
      await node.ready;
      const originatesBefore = fs.originates.length;
      await sleep(100 + random() * 900);
      if (node.last.finished) break;
      await killNode(node);
      node = undefined;
      // A kill counts when the node was dialling around it (the campaign still had contacts and the peer saw dials).
      if (fs.originates.length > originatesBefore) {
        kills++;
        killedAt.push(fs.originates.length);
      }
    }
    assert.is(kills, KILLS, `only ${kills} kills landed mid-campaign (seed ${SEED}): the campaign finished too soon`);
    // The last run: restarted once more, it finishes the campaign and drains on SIGTERM.
    node = startNode(args);
    runs++;
    await node.ready;
    const deadline = Date.now() + patient(240_000);
    while (!node.last.finished && Date.now() < deadline) await sleep(100);
    assert.ok(node.last.finished, `campaign did not finish: ${JSON.stringify(node.last)}`);
    node.proc.kill('SIGTERM');
    assert.is(await node.exited, 0, 'drained and exited cleanly');
    node = undefined;

    const store = openSqliteStore(dbPath);
    try {
      const [campaign] = await store.campaigns.listCampaigns();
      const report = await checkCampaignOutcome(store, campaign!.id, fs.originates, { contacts: CONTACTS, maxAttempts: 1 });
      console.log(
        `crash-campaign: seed ${SEED}, ${CONTACTS} contacts, ${kills} kills (at originate #${killedAt.join(', #')}), ${runs} runs, ` +
          `${report.originates} originates, ${report.duplicates} duplicates, ${report.unknown} unknown, ${report.interrupted} interrupted, ` +
          `${report.done} done ${JSON.stringify(report)}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      await store.close();
    }
  } finally {
    if (node) await killNode(node);
    await fs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});


test.run();
