export * from './types.ts';
export * from './node-types.ts';
export * from './tokens-types.ts';
export * from './audit-types.ts';
export * from './config.ts';
export { INTERRUPTED_DISPOSITION } from './call-rows.ts';
export { openStore, openSqliteStore, openPostgresStore, redactUrl, type OpenStoreOptions } from './open-store.ts';
export { sweepRecordings, type SweepRecordingsOptions } from './sweep-recordings.ts';
export { StoreError } from './store-error.ts';
