export * from './types.ts';
export * from './config.ts';
