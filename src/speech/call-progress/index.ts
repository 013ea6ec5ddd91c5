/** Call progress before answer (announcements, tones) and answering-machine / assistant detection after answer. */
export { GoertzelBank, frameDbfs } from './goertzel.ts';
export { ToneDetector, type ProgressTone, type ToneDetectorOptions, type ToneEvent } from './tone-detector.ts';
export { SitDetector, type SitDetectorOptions, type SitEvent } from './sit-detector.ts';
export { BeepDetector, type BeepDetectorOptions, type BeepEvent } from './beep-detector.ts';
export { AMD_RULES, PROGRESS_RULES, matchRules, normalizeTranscript, spokenUnits, type KeywordRule } from './keyword-rules.ts';
export { EarlyMediaClassifier, type EarlyMediaClassifierOptions } from './early-media-classifier.ts';
export { AmdDetector, type AmdOptions, type BeepWait } from './amd-detector.ts';
