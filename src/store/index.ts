export * from './types.ts';
export * from './config.ts';
export { openSqliteStore, INTERRUPTED_DISPOSITION, type SqliteStoreOptions } from './sqlite-store.ts';
export { sweepRecordings, type SweepRecordingsOptions } from './sweep-recordings.ts';
export { StoreError } from './store-error.ts';
