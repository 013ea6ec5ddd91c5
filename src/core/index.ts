/** Types and helpers every stage shares; depends on nothing else in src/. */
export { LANGS, isLang, type Lang } from './lang.ts';
export { newCallId, isCallId, type CallId } from './call-id.ts';
