/** The bench's building blocks: pure helpers (args, stats, /proc and Prometheus parsing, tables) and the runners. */
export * from './args.ts';
export * from './stats.ts';
export * from './proc.ts';
export * from './prometheus.ts';
export * from './server.ts';
export * from './script.ts';
export * from './calls.ts';
export * from './analysis.ts';
export * from './report.ts';
export * from './stored-timeline.ts';
export * from './realistic.ts';
export * from './pace.ts';
export * from './occupancy.ts';
