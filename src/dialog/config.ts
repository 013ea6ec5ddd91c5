import { z } from 'zod';

export const dialogConfigSchema = z
  .object({
    /** Folder of flow YAML files. */
    flowsDir: z.string().default('configs/flows'),
    defaultFlow: z.string().default('demo'),
    defaultLang: z.enum(['zh', 'en']).default('zh'),
    /** Silence after a prompt before the dialog gets a no-input turn. */
    noInputTimeoutMs: z.number().int().min(1000).max(60000).default(6000),
    /**
     * Speech at least this long that the recognizer made nothing of (a dialect, a mumble, words it does not know) is
     * a no-match turn: the caller spoke, so the step says it did not catch that, and its no_match retries lead on
     * (often to an agent). Shorter sounds (a cough, a lone 嗯) are no turn. 0: every such speech is no turn, and the
     * caller who spoke is asked, after the no-input timeout, whether they can hear.
     */
    unrecognizedSpeechMs: z.number().int().min(0).max(10000).default(800),
    bargeIn: z
      .object({
        enabled: z.boolean().default(true),
        /** Loud caller audio must last this long before the bot pauses (clicks and pops do not). */
        minSpeechMs: z.number().int().min(0).max(2000).default(40),
        /** Short acknowledgements that do not interrupt the bot. */
        backchannels: z.array(z.string()).default(['嗯', '嗯嗯', '对', '好', '好的', '是', 'uh-huh', 'mhm', 'yeah', 'ok', 'okay', 'right']),
        /** Let backchannels interrupt too. */
        backchannelsInterrupt: z.boolean().default(false),
        /**
         * Cancel the bot's echo out of the caller side once the echo guard has learned the line's echo path (lines
         * whose network does not cancel echo), so that speech over it is recognized without it. Off by default: it
         * costs CPU on echo lines only, see bench/RESULTS.md.
         */
        cancelEcho: z.boolean().default(false),
        /**
         * A caller who speaks again within this long after the end of the speech the bot has just answered (and
         * before hearing more than the first words of the answer) is going on with the same turn after a pause: the
         * answer stops, is taken back, and the dialog decides again on the whole turn. 0: never.
         */
        continueTurnMs: z.number().int().min(0).max(3000).default(1000),
        /**
         * Once a caller has gone on after a pause the bot took for the end of the turn, no shorter silence ends
         * their turns for the rest of the call (the longest such pause and 150 ms, up to speech.endpoint.capMs):
         * fewer cut-offs for a caller who pauses, slower answers for that caller.
         */
        waitOutCallerPauses: z.boolean().default(false),
      })
      .prefault({}),
    llm: z
      .object({
        enabled: z.boolean().default(false),
        baseUrl: z.string().default('http://127.0.0.1:11434/v1'),
        model: z.string().default('qwen2.5:7b'),
        apiKey: z.string().optional(),
        timeoutMs: z.number().int().min(100).max(10000).default(1500),
      })
      .prefault({}),
  })
  .prefault({});

export type DialogConfig = z.infer<typeof dialogConfigSchema>;
