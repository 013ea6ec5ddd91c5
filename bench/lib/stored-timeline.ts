import type { CallTimelineEvent } from '../../src/dialog/index.ts';
import { openSqliteStore, type CallEvent } from '../../src/store/index.ts';

/** A stored event row back into the timeline event the engine emitted (`type` is a column, the rest is `data`). */
export function eventFromRow(row: CallEvent): CallTimelineEvent {
  return { type: row.type, ...row.data } as unknown as CallTimelineEvent;
}

/**
 * The timelines the server stored for the bench's calls (after it has exited, so the db is closed and
 * complete), keyed by call id. Reading them back also checks that the store kept up under load.
 */
export async function readStoredTimelines(dbPath: string): Promise<Map<string, CallTimelineEvent[]>> {
  const store = openSqliteStore(dbPath);
  try {
    const out = new Map<string, CallTimelineEvent[]>();
    for (const call of await store.calls.listCalls({ limit: 1000 })) out.set(call.id, (await store.calls.listEvents(call.id)).map(eventFromRow));
    return out;
  } finally {
    await store.close();
  }
}
