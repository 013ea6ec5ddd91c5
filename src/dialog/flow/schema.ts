import { z } from 'zod';

// The YAML flow language. Keys are snake_case for flow authors; docs/flows.md is the reference.

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

/** One phrasing or several alternatives (varied on each visit). */
export const textSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _');
export const setSchema = z.record(variableName, scalar);

export const transitionSchema = z.union([
  z.string().min(1),
  z.object({ goto: z.string().min(1), say: textSchema.optional(), set: setSchema.optional() }).strict(),
]);

export const retrySchema = z
  .object({
    retries: z.number().int().min(0).max(5).default(1),
    say: textSchema.optional(),
    /** Append the step's own prompt after the retry text. */
    reprompt: z.boolean().default(true),
    goto: z.string().min(1).optional(),
  })
  .strict();

export const intentSchema = z
  .object({
    keywords: z.array(z.string().min(1)).default([]),
    exact: z.array(z.string().min(1)).default([]),
    patterns: z.array(z.string().min(1)).default([]),
    negation: z.string().optional(),
    implies: z.string().optional(),
    slot: z
      .object({
        name: z.enum(['number', 'amount', 'date', 'time', 'digits']),
        min: z.number().optional(),
        max: z.number().optional(),
      })
      .strict()
      .optional(),
    weight: z.number().min(0.1).max(1).default(1),
    description: z.string().optional(),
  })
  .strict();

export const globalSchema = z
  .object({
    goto: z.string().min(1).optional(),
    say: textSchema.optional(),
    repeat: z.boolean().optional(),
    set: setSchema.optional(),
  })
  .strict();

const emotionName = z.enum(['angry', 'negative', 'positive']);

export const webhookSchema = z
  .object({
    url: z.string().min(1),
    method: z.enum(['GET', 'POST']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.record(z.string(), scalar).optional(),
    timeout_ms: z.number().int().min(50).max(10000).default(2000),
    /** Call variable <- dot path into the JSON response. */
    save: z.record(variableName, z.string()).default({}),
    branches: z
      .array(
        z
          .object({
            when: z
              .object({
                path: z.string().min(1),
                equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
                in: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
                exists: z.boolean().optional(),
              })
              .strict(),
            goto: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
    default: z.string().min(1).optional(),
    on_error: z.string().min(1),
  })
  .strict();

export const doNotCallSchema = z
  .object({
    scope: z.enum(['global', 'campaign']).default('global'),
    reason: z.string().min(1).max(200).default('caller asked not to be called'),
  })
  .strict();

export const stepSchema = z
  .object({
    say: textSchema.optional(),
    audio: z.string().min(1).optional(),
    barge_in: z.boolean().optional(),
    set: setSchema.optional(),
    callback: z
      .object({
        default_in_hours: z.number().min(0).max(24 * 30).default(24),
        default_time: z.string().regex(/^\d{2}:\d{2}$/).optional(),
      })
      .strict()
      .optional(),
    webhook: webhookSchema.optional(),
    on: z.record(z.string(), transitionSchema).optional(),
    dtmf: z.record(z.string().regex(/^(?:[0-9*#]|[0-9]-[0-9])$/, 'a DTMF key is one of 0-9 * # or a range like 1-5'), z.string()).optional(),
    on_emotion: z.partialRecord(emotionName, transitionSchema).optional(),
    no_input: retrySchema.optional(),
    no_match: retrySchema.optional(),
    goto: z.string().min(1).optional(),
    end: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a disposition is lower_snake_case').optional(),
    transfer: z.object({ reason: z.string().min(1), target: z.string().optional() }).strict().optional(),
    /**
     * Entering this step puts the caller's number on the do-not-call ledger at once (before the bot speaks on),
     * recorded with the call id and the words the caller said: `global` blocks every campaign, `campaign` only the
     * campaign that placed the call (a call outside any campaign is recorded globally).
     */
    do_not_call: doNotCallSchema.optional(),
  })
  .strict();

function answeringActionSchema<A extends string>(actions: [A, ...A[]]) {
  return z
    .object({ action: z.enum(actions), say: textSchema.optional() })
    .strict()
    .refine((v) => v.action !== 'message' || v.say !== undefined, { message: 'a message action needs `say`', path: ['say'] });
}

export const flowSchema = z
  .object({
    flow: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a flow name is lower case letters, digits, _ and -'),
    lang: z.enum(['zh', 'en']),
    version: scalar.optional(),
    description: z.string().optional(),
    start: z.string().min(1),
    variables: z
      .record(
        variableName,
        z
          .object({
            required: z.boolean().default(false),
            default: scalar.optional(),
            description: z.string().optional(),
            example: scalar.optional(),
          })
          .strict(),
      )
      .default({}),
    settings: z
      .object({
        confidence_threshold: z.number().min(0).max(1).default(0.5),
        timezone: z.string().default('Asia/Shanghai'),
        llm_fallback: z.boolean().default(true),
        max_turns: z.number().int().min(1).max(200).default(30),
        /**
         * In a step that can take both a yes and a refusal, a yes is consent only when the recognizer's token
         * confidence (if the model gives one) reaches this and the yes was heard as written, not as a sound-alike:
         * otherwise the step re-prompts (no_match) rather than take a refusal for consent.
         */
        consent_min_confidence: z.number().min(0).max(1).default(0.6),
      })
      .strict()
      .prefault({}),
    intents: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'intent names are lower_snake_case'), intentSchema).default({}),
    globals: z.record(z.string(), globalSchema).default({}),
    emotions: z.partialRecord(emotionName, transitionSchema).default({}),
    defaults: z.object({ no_input: retrySchema.optional(), no_match: retrySchema.optional() }).strict().prefault({}),
    fallback: z.string().min(1).optional(),
    /**
     * Outbound: what to do when answering-machine detection hears a voicemail greeting (`hangup`, or wait for
     * the beep and leave `say` as a `message`).
     */
    voicemail: answeringActionSchema(['hangup', 'message']).optional(),
    /**
     * Outbound: what to do when a carrier's AI assistant answers (智能助理，您好我是机主的智能助理): `continue` the dialog,
     * `hangup`, a `message`, or the flow's assistant branch `{ goto: <step>, say?: ... }`: the greeting is cut and the
     * dialog goes on from that step (a message for the owner, a question the assistant can pass on, an end).
     */
    assistant: z.union([answeringActionSchema(['continue', 'hangup', 'message']), z.object({ goto: z.string().min(1), say: textSchema.optional() }).strict()]).optional(),
    steps: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'step names are letters, digits, _ and -'), stepSchema),
  })
  .strict();

export type FlowDefinition = z.infer<typeof flowSchema>;
export type StepDefinition = z.infer<typeof stepSchema>;
export type Transition = z.infer<typeof transitionSchema>;
export type RetryDefinition = z.infer<typeof retrySchema>;
export type GlobalHandler = z.infer<typeof globalSchema>;
export type WebhookDefinition = z.infer<typeof webhookSchema>;
export type TextDefinition = z.infer<typeof textSchema>;
export type DoNotCallDefinition = z.infer<typeof doNotCallSchema>;
