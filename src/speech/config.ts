import { z } from 'zod';

const asrFamily = z.enum(['transducer', 'paraformer', 'zipformer2Ctc', 'nemoCtc', 'toneCtc']);

export const speechConfigSchema = z
  .object({
    /** Extra folder searched for models (after config paths and CALLPILOT_MODELS, before ../shared/models and the cache). */
    modelsDir: z.string().optional(),
    vad: z
      .object({
        /** Path to silero_vad_v5.onnx, or a registry name / model folder; `silero-vad` (shipped in models/) when absent. */
        model: z.string().optional(),
        /** Speech probability threshold. 0.3 rather than Silero's usual 0.5: band-limited 8 kHz telephone speech scores lower (measured on the shared captures: 0.5 missed or started late on several). */
        threshold: z.number().min(0.05).max(0.95).default(0.3),
        minSpeechMs: z.number().int().min(20).max(2000).default(200),
        /** Silence before the VAD reports a raw speech end; keep it well under endpoint.expectedTrailingSilenceMs. */
        minSilenceMs: z.number().int().min(32).max(2000).default(100),
        /** Audio kept before a detected speech start (the VAD reports starts late). */
        prerollMs: z.number().int().min(0).max(1500).default(500),
        /**
         * Silero instances created at startup. Each holds its own ONNX session (~9 MB, ~50 ms to create), reused
         * across calls; set it to the expected peak of concurrent calls so call setup never creates one.
         */
        poolSize: z.number().int().min(0).max(1000).default(8),
        /** Restart the detector's state after this much non-speech (0 = never): it goes deaf after long silences. */
        resetAfterSilenceMs: z.number().int().min(0).max(60000).default(600),
        /**
         * A line quieter than this (dBFS) for half a second is not run through the VAD model until it gets louder:
         * most caller-side audio is a quiet line while the bot talks. null = always run the model.
         */
        gateDbfs: z.number().min(-90).max(-20).nullable().default(-50),
      })
      .prefault({}),
    endpoint: z
      .object({
        /**
         * `dynamic` (default): the end-of-turn decision chooses each wait between floorMs and capMs from the partial
         * transcript, the flow step's expected answer and the voice's prosody. `fixed`: trailingSilenceMs, or
         * expectedTrailingSilenceMs once the transcript matches an expected answer.
         */
        mode: z.enum(['fixed', 'dynamic']).default('dynamic'),
        /** Silence after speech that ends the caller's turn (dynamic mode: the wait when no cue says otherwise). */
        trailingSilenceMs: z.number().int().min(100).max(5000).default(700),
        /** Shorter silence once the transcript matches an answer the dialog step expects. */
        expectedTrailingSilenceMs: z.number().int().min(60).max(5000).default(200),
        /** Dynamic mode: the shortest wait, whatever the cues. */
        floorMs: z.number().int().min(60).max(2000).default(180),
        /** Dynamic mode: the longest wait, for a sentence that is plainly unfinished (trailing 然后, 那个, "and"...). */
        capMs: z.number().int().min(200).max(5000).default(1200),
        /**
         * Optional audio end-of-turn model (ONNX, Smart Turn's contract: last 8 s of 16 kHz audio as Whisper log-mel
         * features [1, 80, 800] -> probability the turn is complete). Off unless a file is given.
         */
        turnModel: z
          .object({
            path: z.string().optional(),
            /** Run the model only once the caller has been silent this long (it costs ms, cues cost µs). */
            afterSilenceMs: z.number().int().min(0).max(2000).default(120),
          })
          .prefault({}),
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
        decodingMethod: z.enum(['greedy_search', 'modified_beam_search']).default('greedy_search'),
        /** Hotwords (transducer models with modified_beam_search only): boosted phrases, one per entry. */
        hotwords: z.array(z.string().min(1)).default([]),
        hotwordsScore: z.number().min(0).max(10).default(1.5),
        /** How hotwords are tokenized: `cjkchar` for Chinese models, `cjkchar+bpe` with `bpeVocab` for bilingual ones. */
        modelingUnit: z.enum(['cjkchar', 'bpe', 'cjkchar+bpe']).optional(),
        bpeVocab: z.string().optional(),
        /**
         * Decode in a worker thread (default): a batch over many calls can take tens of ms with a production-sized
         * model, longer than the 20 ms frame the main thread must keep pacing.
         */
        worker: z.boolean().default(true),
        /**
         * ASR worker threads (with `worker`), each with its own recognizer; a call stays on the one it was given.
         * Unset: the cores the main thread leaves free, 1 to 4 (1 on 2 cores; see asr-worker-pool.ts).
         */
        workers: z.number().int().min(1).max(64).optional(),
        /**
         * Do not decode an utterance while the echo guard calls it the bot's own echo (it costs decode time and gives
         * partials of the bot's words); the caller talking over the echo is decoded from its preroll on.
         */
        skipEcho: z.boolean().default(true),
        /** Silence appended at the endpoint so the last word is flushed; already-heard trailing silence counts. */
        finalPaddingMs: z.number().int().min(0).max(2000).default(400),
        /**
         * Each utterance's audio starts on this grid of the call's audio clock (the model's chunk, 160 ms for the
         * shipped models), so the text does not depend on a few ms of VAD jitter. 0 starts exactly at the preroll.
         */
        startGridMs: z.number().int().min(0).max(1000).default(160),
        /** How often batched decoding runs across all calls. */
        decodeIntervalMs: z.number().int().min(10).max(200).default(40),
        /**
         * Two-pass final: an offline model decodes each finished utterance again and its text is the final (released
         * offline Chinese models make fewer errors than streaming ones); the streaming model still gives the partials
         * the end of turn reads. Off while `model` is unset.
         */
        secondPass: z
          .object({
            /** Registry name or folder of an offline model (SenseVoice; an offline zipformer CTC, NeMo CTC or paraformer). */
            model: z.string().optional(),
            /** Its sherpa-onnx offline family; taken from the registry when the model is a known name. */
            family: z.enum(['senseVoice', 'zipformerCtc', 'nemoCtc', 'paraformer']).optional(),
            files: z.object({ model: z.string().optional(), tokens: z.string().optional() }).optional(),
            numThreads: z.number().int().min(1).max(16).default(1),
            /**
             * Utterances whose audio (the speech and the silence waited after it) is longer than this keep the
             * streaming final (0: every utterance gets the second pass). The offline decode grows with the audio and
             * runs one utterance at a time, so a few long off-script turns made every short answer queue behind
             * them; short answers (yes/no, a date, a name) are where a few characters decide the intent.
             */
            maxUtteranceMs: z.number().int().min(0).max(60000).default(5000),
          })
          .prefault({}),
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
        cacheSize: z.number().int().min(0).max(100000).default(1000),
      })
      .prefault({}),
  })
  .prefault({});

export type SpeechConfig = z.infer<typeof speechConfigSchema>;
