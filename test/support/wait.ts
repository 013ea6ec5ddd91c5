/**
 * Waiting in tests. Every deadline here is a hang guard, never a timing assertion: a passing test returns as soon as
 * its condition holds, so only a failing one waits longer. Deadlines are multiplied by PATIENCE because a loaded CI
 * machine ran parts of the suite three times slower than a quiet one (real calls, TTS and ASR on 2 busy cores), and a
 * test that is only slow must not fail. CALLPILOT_TEST_PATIENCE sets it (default 3; 1 for the bare deadlines).
 */
const DEFAULT_PATIENCE = 3;

function readPatience(): number {
  const raw = process.env.CALLPILOT_TEST_PATIENCE;
  if (raw === undefined || raw === '') return DEFAULT_PATIENCE;
  const value = Number(raw);
  if (!(value >= 1)) throw new Error(`CALLPILOT_TEST_PATIENCE must be a number >= 1, got ${JSON.stringify(raw)}`);
  return value;
}

export const PATIENCE = readPatience();

/** A hang guard of `ms` on a quiet machine, stretched by PATIENCE. */
export function patient(ms: number): number {
  return ms * PATIENCE;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every 20 ms until it holds; throws naming `what` after `ms` (times PATIENCE). A function for `what`
 * is read at the timeout, so the message can say how far the wait got.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string | (() => string), ms = 20_000): Promise<void> {
  const deadline = performance.now() + patient(ms);
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(20);
  }
}

/** Polls `get` until it gives something other than undefined (0 and '' count), and returns it. */
export async function untilDefined<T>(get: () => T | undefined | Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const deadline = performance.now() + patient(ms);
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Polls `get` until it gives something truthy, and returns it. */
export async function poll<T>(get: () => T | Promise<T>, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = performance.now() + patient(ms);
  for (;;) {
    const value = await get();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
