import { z } from 'zod';

const ruleId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'rule ids are 1-64 letters, digits, "_", "." or "-"');
const phrases = z.array(z.string().trim().min(1).max(200)).min(1).max(500);
const leg = z.enum(['caller', 'bot', 'any']);
const flowList = z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/)).max(100);

const common = {
  id: ruleId,
  description: z.string().max(500).optional(),
  severity: z.enum(['info', 'minor', 'major', 'critical']).default('major'),
  /** Points a hit deducts from the call's QA score. */
  score: z.number().int().min(0).max(1000).default(0),
  /** Only on these flows (default: the rule file's flows). */
  flows: flowList.optional(),
  /** Only on calls in these languages (default: the rule file's). */
  langs: z.array(z.enum(['zh', 'en'])).min(1).optional(),
};

/** Said by a leg: literal phrases (case-insensitive, spaces and punctuation ignored). */
const keywordRule = z.object({ ...common, type: z.literal('keyword'), leg: leg.default('any'), phrases }).strict();
/** Sounds like one of the phrases (homophones and near-homophones, as ASR mishears them). */
const pinyinRule = z.object({ ...common, type: z.literal('pinyin'), leg: leg.default('any'), phrases }).strict();
const regexRule = z
  .object({
    ...common,
    type: z.literal('regex'),
    leg: leg.default('any'),
    pattern: z.string().min(1).max(500),
    flags: z.string().regex(/^[imsu]*$/, 'flags may be i, m, s and u').default('i'),
  })
  .strict();
/** A required disclosure: none of the phrases said by `leg` (within the first `within_s` seconds). */
const absenceRule = z
  .object({
    ...common,
    type: z.literal('absence'),
    leg: leg.default('bot'),
    phrases,
    match: z.enum(['keyword', 'pinyin']).default('keyword'),
    within_s: z.number().positive().max(36_000).optional(),
    /** Calls shorter than this are not judged (the caller hung up before the bot could say it). */
    min_call_s: z.number().min(0).max(36_000).default(0),
  })
  .strict();
const said = z.object({ leg: leg.default('any'), phrases }).strict();
/**
 * "A then B within N s". `required`: a hit when A is said and B does not follow in time (a complaint must be
 * answered by a handoff offer); `forbidden`: a hit when B does follow (a refusal answered by a threat).
 */
const sequenceRule = z
  .object({ ...common, type: z.literal('sequence'), first: said, then: said, within_s: z.number().positive().max(3600), mode: z.enum(['required', 'forbidden']).default('required') })
  .strict();
/** Share of the call in which neither leg speaks. */
const silenceRule = z.object({ ...common, type: z.literal('silence'), max_ratio: z.number().min(0).max(1), min_call_s: z.number().min(0).max(36_000).default(10) }).strict();
/** Share of the call in which both legs speak at once. */
const talkOverRule = z.object({ ...common, type: z.literal('talk_over'), max_ratio: z.number().min(0).max(1), min_call_s: z.number().min(0).max(36_000).default(10) }).strict();

/**
 * The caller's emotion cue in one utterance, as the dialog reads it (lexicon and punctuation: 烦死了, 投诉, "shut up",
 * !!!): a live hit on each turn whose cue is one of `emotions` with at least `min_score`.
 */
const emotionRule = z
  .object({
    ...common,
    type: z.literal('emotion'),
    emotions: z.array(z.enum(['angry', 'negative', 'positive'])).min(1).default(['angry']),
    min_score: z.number().min(0).max(1).default(0.6),
  })
  .strict();
/**
 * The caller's sentiment over the call (or its last `last_turns` utterances): the mean of the cues, each +score when
 * positive, -score when negative or angry, 0 when neutral. A hit when it is below `below` (-1..1).
 */
const sentimentRule = z
  .object({
    ...common,
    type: z.literal('sentiment'),
    below: z.number().min(-1).max(1),
    min_turns: z.number().int().min(1).max(1000).default(2),
    last_turns: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

export const qaRuleSchema = z.discriminatedUnion('type', [keywordRule, pinyinRule, regexRule, absenceRule, sequenceRule, silenceRule, talkOverRule, emotionRule, sentimentRule]);

export const qaRuleFileSchema = z
  .object({
    /** Name of the rule set (stored with every hit). */
    qa: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'rule set names are letters, digits, "_", "." and "-"'),
    description: z.string().max(1000).optional(),
    /** Flows these rules apply to; absent or empty: every call (global rules). */
    flows: flowList.optional(),
    /** Languages these rules apply to; absent: every language. */
    langs: z.array(z.enum(['zh', 'en'])).min(1).optional(),
    rules: z.array(qaRuleSchema).min(1).max(1000),
  })
  .strict();

export type QaRuleDefinition = z.infer<typeof qaRuleSchema>;
export type QaRuleFile = z.infer<typeof qaRuleFileSchema>;
export const QA_RULE_TYPES = ['keyword', 'pinyin', 'regex', 'absence', 'sequence', 'silence', 'talk_over', 'emotion', 'sentiment'] as const;
