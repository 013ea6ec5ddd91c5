/**
 * The models callpilot knows by name. Local-only entries ship in `shared/models` next to the repo (test and benchmark
 * models); the others are official sherpa-onnx releases that `callpilot models pull <name>` installs into the cache.
 *
 * A sha256 is listed only where it was read from a published source. Where none is known it stays absent, and pulling
 * such a model needs an explicit `--sha256` (see pullModel): an unverified archive is never installed silently.
 */

export type ModelKind = 'asr' | 'vad' | 'tts';

/** How sherpa-onnx loads the model. Online families stream; `senseVoice` is offline (decoded per VAD segment). */
export type SherpaFamily =
  | 'transducer'
  | 'paraformer'
  | 'zipformer2Ctc'
  | 'nemoCtc'
  | 'toneCtc'
  | 'senseVoice'
  | 'sileroVad'
  | 'vits';

/** Roles of a model's files, mapped to paths inside the model folder. */
export interface ModelFiles {
  encoder?: string;
  decoder?: string;
  joiner?: string;
  model?: string;
  tokens?: string;
  lexicon?: string;
  dictDir?: string;
}

export interface ModelSpec {
  name: string;
  kind: ModelKind;
  family: SherpaFamily;
  /** Whether an online (streaming) recognizer can load it. */
  streaming: boolean;
  files: ModelFiles;
  description: string;
  /** Where the release is published; absent for local-only models. */
  url?: string;
  /** `tar.bz2` archives unpack to a folder named `archiveRoot`; `file` downloads a single file. */
  packaging?: 'tar.bz2' | 'file';
  archiveRoot?: string;
  /** Download size in bytes, when published. */
  sizeBytes?: number;
  /** sha256 of the download, when published. */
  sha256?: string;
  /** Feature sample rate the model expects. */
  sampleRate: number;
  /** Only for tests/benchmarks: never serve real callers with it. */
  testOnly?: boolean;
}

const SHERPA_RELEASES = 'https://github.com/k2-fsa/sherpa-onnx/releases/download';

export const MODEL_REGISTRY: readonly ModelSpec[] = [
  {
    name: 'callpilot-tiny-zh-en',
    kind: 'asr',
    family: 'nemoCtc',
    streaming: true,
    files: { model: 'model.onnx', tokens: 'tokens.txt' },
    description: 'tiny streaming CTC, synthetic telephone speech, closed domain (tests and demo only)',
    sizeBytes: 6525728,
    sampleRate: 16000,
    testOnly: true,
  },
  {
    name: 'callpilot-cost-proxy',
    kind: 'asr',
    family: 'nemoCtc',
    streaming: true,
    files: { model: 'model.onnx', tokens: 'tokens.txt' },
    description: 'production-sized compute cost with the tiny model text (benchmarks only)',
    sizeBytes: 77839879,
    sampleRate: 16000,
    testOnly: true,
  },
  {
    name: 'silero-vad',
    kind: 'vad',
    family: 'sileroVad',
    streaming: true,
    files: { model: 'silero_vad_v5.onnx' },
    description: 'Silero VAD v5 (MIT) as kept in shared/models',
    sizeBytes: 2327524,
    // Published in shared/models/silero-vad/README.md for this exact file.
    sha256: '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f',
    sampleRate: 16000,
  },
  {
    name: 'silero-vad-v5-release',
    kind: 'vad',
    family: 'sileroVad',
    streaming: true,
    files: { model: 'silero_vad_v5.onnx' },
    description: 'Silero VAD v5 from the sherpa-onnx asr-models release',
    url: `${SHERPA_RELEASES}/asr-models/silero_vad_v5.onnx`,
    packaging: 'file',
    sampleRate: 16000,
  },
  {
    name: 'sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20',
    kind: 'asr',
    family: 'transducer',
    streaming: true,
    files: {
      encoder: 'encoder-epoch-99-avg-1.int8.onnx',
      decoder: 'decoder-epoch-99-avg-1.onnx',
      joiner: 'joiner-epoch-99-avg-1.int8.onnx',
      tokens: 'tokens.txt',
    },
    description: 'streaming zipformer transducer, Mandarin + English (production ASR)',
    url: `${SHERPA_RELEASES}/asr-models/sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20.tar.bz2`,
    packaging: 'tar.bz2',
    archiveRoot: 'sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20',
    sampleRate: 16000,
  },
  {
    name: 'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2024-07-17',
    kind: 'asr',
    family: 'senseVoice',
    streaming: false,
    files: { model: 'model.int8.onnx', tokens: 'tokens.txt' },
    description: 'SenseVoice int8, offline (per VAD segment), zh/en/ja/ko/yue',
    url: `${SHERPA_RELEASES}/asr-models/sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2024-07-17.tar.bz2`,
    packaging: 'tar.bz2',
    archiveRoot: 'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2024-07-17',
    sampleRate: 16000,
  },
  {
    name: 'vits-melo-tts-zh_en',
    kind: 'tts',
    family: 'vits',
    streaming: false,
    files: { model: 'model.onnx', tokens: 'tokens.txt', lexicon: 'lexicon.txt', dictDir: 'dict' },
    description: 'MeloTTS VITS, Mandarin + English voice',
    url: `${SHERPA_RELEASES}/tts-models/vits-melo-tts-zh_en.tar.bz2`,
    packaging: 'tar.bz2',
    archiveRoot: 'vits-melo-tts-zh_en',
    sampleRate: 44100,
  },
];

export function findModelSpec(name: string, registry: readonly ModelSpec[] = MODEL_REGISTRY): ModelSpec | undefined {
  return registry.find((m) => m.name === name);
}
