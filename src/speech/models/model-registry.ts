/**
 * The models callpilot knows by name (or by a short alias such as `zh-en`). Local-only entries ship in the
 * repository's `models/` (the demo ASR model, Silero VAD) or in `shared/models` next to it (test and benchmark
 * models); the others are official sherpa-onnx releases that `callpilot models pull <name>` installs into the cache.
 *
 * A sha256 is pinned here only where it was read from a published source. Where none is known, the first verified
 * download is trusted and its sha256 recorded in the models lock file (see model-lock.ts), which every later pull,
 * on this node or any node sharing the file, is checked against.
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
  /** Short names accepted wherever the name is (`callpilot models pull zh-en`). */
  aliases?: readonly string[];
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
    aliases: ['demo'],
    kind: 'asr',
    family: 'nemoCtc',
    streaming: true,
    files: { model: 'model.onnx', tokens: 'tokens.txt' },
    description: 'demo model shipped in models/: knows only the demo/flow vocabulary (never for real callers)',
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
    description: 'Silero VAD v5 (MIT), shipped in models/',
    sizeBytes: 2327524,
    // Published in models/silero-vad/README.md (and shared/models) for this exact file.
    sha256: '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f',
    sampleRate: 16000,
  },
  {
    name: 'silero-vad-v5-release',
    aliases: ['vad'],
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
    aliases: ['zh-en'],
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
    aliases: ['sense-voice'],
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
    aliases: ['tts-zh-en'],
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
  return registry.find((m) => m.name === name) ?? registry.find((m) => m.aliases?.includes(name));
}
