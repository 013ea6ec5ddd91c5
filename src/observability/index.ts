export * from './config.ts';
export { createLogger, loggerOptions, REDACTED_LOG_PATHS } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
