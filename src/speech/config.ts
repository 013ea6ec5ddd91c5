import { z } from 'zod';

const asrFamily = z.enum(['transducer', 'paraformer', 'zipformer2Ctc', 'nemoCtc', 'toneCtc']);

export const speechConfigSchema = z
  .object({
    /** Extra folder searched for models (after config paths and CALLPILOT_MODELS, before ../shared/models and the cache). */
    modelsDir: z.string().optional(),
    vad: z
      .object({
        /** Path to silero_vad_v5.onnx; found through the model lookup when absent. */
        model: z.string().optional(),
        threshold: z.number().min(0.05).max(0.95).default(0.5),
        minSpeechMs: z.number().int().min(20).max(2000).default(200),
        /** Audio kept before a detected speech start (the VAD reports starts late). */
        prerollMs: z.number().int().min(0).max(1000).default(300),
      })
      .prefault({}),
    endpoint: z
      .object({
        /** Silence after speech that ends the caller's turn. */
        trailingSilenceMs: z.number().int().min(100).max(5000).default(700),
        /** Shorter silence once the transcript matches an answer the dialog step expects. */
        expectedTrailingSilenceMs: z.number().int().min(60).max(5000).default(200),
        /** Cut an utterance that runs longer than this. */
        maxUtteranceMs: z.number().int().min(1000).max(60000).default(15000),
      })
      .prefault({}),
    asr: z
      .object({
        /** Model name in the model registry (see `callpilot models list`) or a folder. */
        model: z.string().default('callpilot-tiny-zh-en'),
        /** sherpa-onnx online model family; taken from the registry when the model is a known name. */
        family: asrFamily.optional(),
        /** Explicit files, overriding the registry: encoder/decoder/joiner (transducer, paraformer) or model (CTC). */
        files: z
          .object({
            encoder: z.string().optional(),
            decoder: z.string().optional(),
            joiner: z.string().optional(),
            model: z.string().optional(),
            tokens: z.string().optional(),
          })
          .optional(),
        numThreads: z.number().int().min(1).max(16).default(1),
        /** Hotwords (transducer models only): boosted phrases. */
        hotwordsScore: z.number().min(0).max(10).default(1.5),
        /** How often batched decoding runs across all calls. */
        decodeIntervalMs: z.number().int().min(10).max(200).default(40),
      })
      .prefault({}),
    tts: z
      .object({
        engine: z.enum(['espeak', 'sherpa']).default('espeak'),
        /** For engine=sherpa: registry name or folder of a vits/matcha/kokoro model. */
        model: z.string().optional(),
        voices: z.object({ zh: z.string().default('cmn'), en: z.string().default('en-us') }).prefault({}),
        /** Words per minute for espeak-ng. */
        rate: z.number().int().min(80).max(400).default(175),
        /** Max prompts kept synthesized in memory. */
        cacheSize: z.number().int().min(0).max(10000).default(500),
      })
      .prefault({}),
  })
  .prefault({});

export type SpeechConfig = z.infer<typeof speechConfigSchema>;
