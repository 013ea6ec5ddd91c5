import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, complianceProfileSchema } from '../../src/campaign/index.ts';
import type { AttemptRecord, ContactRecord, Store } from '../../src/store/index.ts';
import type { OriginateOutcome } from '../pbx/freeswitch/peer/fake-freeswitch.ts';

/** A compliance profile open around the clock, so the kill tests do not depend on the hour they run at. */
export const ALWAYS_OPEN_PROFILE = complianceProfileSchema.parse({
  ...BUILTIN_PROFILES['cn-collection'],
  windows: { default: ['00:00-24:00'] },
  maxAttemptsPerNumberPerDay: undefined,
});

/** `n` distinct CN mobile numbers (E.164). */
export function numbers(n: number, base = 13800000000): string[] {
  return Array.from({ length: n }, (_, i) => `+86${base + i}`);
}

/** What the peer's callee does, by the number's last digit: 6 busy, 7 rings out, 8 unreachable, else answers. */
export function outcomeOf(dialOrNumber: string): OriginateOutcome {
  const last = dialOrNumber.at(-1);
  return last === '6' ? 'busy' : last === '7' ? 'no-answer' : last === '8' ? 'unreachable' : 'answer';
}

/** Stored dispositions an attempt may end with when the peer's callee did `outcome` (cut by a kill: interrupted). */
const ALLOWED: Record<OriginateOutcome, string[]> = {
  answer: ['completed', 'interrupted'],
  busy: ['busy'],
  'no-answer': ['no-answer'],
  unreachable: ['unreachable'],
};

export interface OutcomeReport {
  originates: number;
  duplicates: number;
  attempts: number;
  done: number;
  unknown: number;
  interrupted: number;
  byDisposition: Record<string, number>;
  /** From the first claim to the last, and the mean time from claim to end of a done attempt (ms). */
  claimSpanMs: number;
  meanAttemptMs: number;
}

async function allAttempts(store: Store, campaignId: string): Promise<AttemptRecord[]> {
  const out: AttemptRecord[] = [];
  for (;;) {
    const page = await store.campaigns.listAttempts(campaignId, { limit: 5000, afterId: out.at(-1)?.id });
    out.push(...page);
    if (page.length < 5000) return out;
  }
}

async function allContacts(store: Store, campaignId: string): Promise<ContactRecord[]> {
  const out: ContactRecord[] = [];
  for (;;) {
    const page = await store.campaigns.listContacts(campaignId, { limit: 5000, afterId: out.at(-1)?.id });
    out.push(...page);
    if (page.length < 5000) return out;
  }
}

/**
 * The never-twice, never-lost checks after a run with kills, from the peer's side and the store's:
 * - every originate the peer received carries an attempt id that exists in the store for that number, and no
 *   attempt id and no number was originated more often than allowed (duplicates = 0);
 * - every attempt ended `done` or `unknown`, every contact is `done` or `unknown` (none pending, dialing or lost),
 *   the campaign finished;
 * - an attempt stored `done` was really originated, and its disposition is what the peer's callee did
 *   (a kill may turn an answered call into `interrupted`): no outcome invented or mixed up.
 */
export async function checkCampaignOutcome(
  store: Store,
  campaignId: string,
  originates: { dial: string; variables: Record<string, string> }[],
  expect: { contacts: number; maxAttempts: number },
): Promise<OutcomeReport> {
  const attempts = await allAttempts(store, campaignId);
  const contacts = await allContacts(store, campaignId);
  const byId = new Map(attempts.map((a) => [a.id, a]));
  const perAttempt = new Map<string, number>();
  const perNumber = new Map<string, number>();
  for (const o of originates) {
    const id = o.variables.callpilot_attempt;
    assert.ok(id, `originate ${o.dial} carries no attempt id`);
    perAttempt.set(id, (perAttempt.get(id) ?? 0) + 1);
    const attempt = byId.get(id);
    assert.ok(attempt, `originate with attempt ${id} that the store does not have`);
    assert.ok(o.dial.endsWith(attempt.number.slice(3)), `attempt ${id} is ${attempt.number} but ${o.dial} was dialled`);
    perNumber.set(attempt.number, (perNumber.get(attempt.number) ?? 0) + 1);
  }
  const duplicates = [...perAttempt.values()].reduce((s, n) => s + n - 1, 0);
  assert.is(duplicates, 0, 'an attempt was originated twice');
  const overDialled = [...perNumber.entries()].filter(([, n]) => n > expect.maxAttempts);
  assert.equal(overDialled, [], 'numbers dialled more often than the campaign allows');

  assert.is(contacts.length, expect.contacts);
  const openContacts = contacts.filter((c) => c.state !== 'done' && c.state !== 'unknown');
  assert.equal(openContacts.map((c) => `${c.id}:${c.state}`), [], 'contacts left pending/dialing/blocked');
  const open = attempts.filter((a) => a.state !== 'done' && a.state !== 'unknown');
  assert.equal(open.map((a) => `${a.id}:${a.state}`), [], 'attempts not ended');
  const byDisposition: Record<string, number> = {};
  for (const a of attempts) {
    byDisposition[a.disposition ?? '(none)'] = (byDisposition[a.disposition ?? '(none)'] ?? 0) + 1;
    if (a.state !== 'done') continue;
    assert.ok(perAttempt.has(a.id), `attempt ${a.id} ended ${a.disposition} but the peer never saw it dialled`);
    const allowed = ALLOWED[outcomeOf(a.number)];
    assert.ok(allowed.includes(a.disposition ?? ''), `attempt ${a.id} to a ${outcomeOf(a.number)} callee stored as ${a.disposition}`);
  }
  // Every contact's attempts ended; a contact is unknown exactly when its last attempt is.
  for (const c of contacts) {
    const last = attempts.filter((a) => a.contactId === c.id).sort((x, y) => x.attemptNo - y.attemptNo).at(-1);
    assert.ok(last, `contact ${c.id} (${c.state}) has no attempt`);
    assert.is(c.state === 'unknown', last.state === 'unknown', `contact ${c.id} is ${c.state}, its last attempt ${last.state}`);
  }
  const campaign = await store.campaigns.getCampaign(campaignId);
  assert.is(campaign?.state, 'finished');
  return {
    originates: originates.length,
    duplicates,
    attempts: attempts.length,
    done: attempts.filter((a) => a.state === 'done').length,
    unknown: attempts.filter((a) => a.state === 'unknown').length,
    interrupted: attempts.filter((a) => a.disposition === 'interrupted').length,
    byDisposition,
    claimSpanMs: Math.max(...attempts.map((a) => Date.parse(a.createdAt))) - Math.min(...attempts.map((a) => Date.parse(a.createdAt))),
    meanAttemptMs: Math.round(
      attempts.filter((a) => a.state === 'done').reduce((s, a) => s + Date.parse(a.endedAt!) - Date.parse(a.createdAt), 0) / Math.max(1, attempts.filter((a) => a.state === 'done').length),
    ),
  };
}
