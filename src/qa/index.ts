/** QA (质检): rule files, the rule engine, and the per-call monitor that runs it live and at each call's end. */
export { qaRuleFileSchema, qaRuleSchema, QA_RULE_TYPES, type QaRuleDefinition, type QaRuleFile } from './rule-schema.ts';
export { QaCallEvaluation, QaRules, compileRule, type CompiledQaRule, type QaFinding, type QaUtterance } from './engine.ts';
export { checkQaFile, checkQaSource, loadQaRules, qaFilesIn, runQaCheck, formatQaProblem, QaRulesError, type QaProblem } from './loader.ts';
export { keywordFinder, pinyinFinder, regexFinder } from './matching.ts';
export { QaMonitor, createQaMonitor, type QaMonitorOptions, type QaHitListener } from './qa-monitor.ts';
export { qaConfigSchema, type QaConfig } from './config.ts';
export { forwardQaHits, qaHitDelivery, QA_HIT_EVENT, QA_WEBHOOK_CHANNEL, type QaWebhookOptions } from './qa-webhook.ts';
