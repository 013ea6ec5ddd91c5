/**
 * Typed view of the parts of `sherpa-onnx-node` that callpilot uses. The package ships JavaScript with JSDoc only,
 * so the shapes below mirror its `types.js`; loading goes through createRequire because it is a CommonJS addon.
 */
import { createRequire } from 'node:module';

export interface SherpaWave {
  samples: Float32Array;
  sampleRate: number;
}

export interface SherpaSileroVadConfig {
  model: string;
  threshold: number;
  minSilenceDuration: number;
  minSpeechDuration: number;
  maxSpeechDuration: number;
  windowSize: number;
}

export interface SherpaVadConfig {
  sileroVad: SherpaSileroVadConfig;
  sampleRate: number;
  numThreads: number;
  provider: string;
  debug: boolean;
}

export interface SherpaSpeechSegment {
  start: number;
  samples: Float32Array;
}

export interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  isDetected(): boolean;
  front(enableExternalBuffer?: boolean): SherpaSpeechSegment;
  pop(): void;
  clear(): void;
  reset(): void;
  flush(): void;
}

export interface SherpaOnlineModelConfig {
  transducer?: { encoder: string; decoder: string; joiner: string };
  paraformer?: { encoder: string; decoder: string };
  zipformer2Ctc?: { model: string };
  nemoCtc?: { model: string };
  toneCtc?: { model: string };
  tokens: string;
  numThreads: number;
  provider: string;
  debug: number;
  modelType?: string;
  modelingUnit?: string;
  bpeVocab?: string;
}

export interface SherpaOnlineRecognizerConfig {
  featConfig: { sampleRate: number; featureDim: number };
  modelConfig: SherpaOnlineModelConfig;
  decodingMethod: 'greedy_search' | 'modified_beam_search';
  maxActivePaths?: number;
  enableEndpoint: boolean | number;
  rule1MinTrailingSilence?: number;
  rule2MinTrailingSilence?: number;
  rule3MinUtteranceLength?: number;
  hotwordsFile?: string;
  hotwordsScore?: number;
}

export interface SherpaOnlineStream {
  acceptWaveform(wave: SherpaWave): void;
  inputFinished(): void;
}

export interface SherpaOnlineResult {
  text: string;
  tokens?: string[];
  /**
   * Log-probability of each emitted token. Filled by transducer models (zipformer); empty for CTC models such as the
   * shipped test models, which report no per-token confidence.
   */
  ys_probs?: number[];
}

export interface SherpaOnlineRecognizer {
  createStream(): SherpaOnlineStream;
  isReady(stream: SherpaOnlineStream): boolean;
  decode(stream: SherpaOnlineStream): void;
  decodeStreams(streams: SherpaOnlineStream[]): void;
  isEndpoint(stream: SherpaOnlineStream): boolean;
  reset(stream: SherpaOnlineStream): void;
  getResult(stream: SherpaOnlineStream): SherpaOnlineResult;
}

/** Offline (whole-utterance) model families callpilot can use for the second pass. */
export interface SherpaOfflineModelConfig {
  senseVoice?: { model: string; language?: string; useInverseTextNormalization?: number };
  zipformerCtc?: { model: string };
  nemoCtc?: { model: string };
  paraformer?: { model: string };
  tokens: string;
  numThreads: number;
  provider: string;
  debug: number;
}

export interface SherpaOfflineRecognizerConfig {
  featConfig: { sampleRate: number; featureDim: number };
  modelConfig: SherpaOfflineModelConfig;
  decodingMethod?: 'greedy_search';
}

export interface SherpaOfflineStream {
  acceptWaveform(wave: SherpaWave): void;
}

export interface SherpaOfflineRecognizer {
  createStream(): SherpaOfflineStream;
  decode(stream: SherpaOfflineStream): void;
  getResult(stream: SherpaOfflineStream): { text: string; tokens?: string[] };
}

export interface SherpaModule {
  Vad: new (config: SherpaVadConfig, bufferSizeInSeconds: number) => SherpaVad;
  OnlineRecognizer: new (config: SherpaOnlineRecognizerConfig) => SherpaOnlineRecognizer;
  OfflineRecognizer: new (config: SherpaOfflineRecognizerConfig) => SherpaOfflineRecognizer;
  readWave(filename: string): SherpaWave;
  version: string;
}

const requireCommonJs = createRequire(import.meta.url);

/** The native addon (Node's module cache makes repeated calls free; each worker thread loads its own copy). */
export function loadSherpa(): SherpaModule {
  return requireCommonJs('sherpa-onnx-node') as SherpaModule;
}
