import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ROLE_SETS } from '../auth/index.ts';
import type { QaHit, QaHitQuery, QaStore } from '../store/index.ts';
import { jsonSchemaOf, validatedByZod } from './zod-schema.ts';
import { HttpError } from './http-error.ts';

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date or date-time');
const filters = {
  flow: z.string().max(128).optional(),
  rule: z.string().max(128).optional(),
  severity: z.enum(['info', 'minor', 'major', 'critical']).optional(),
  /** Hits found at or after this time. */
  from: isoDate.optional(),
  /** Hits found before this time. */
  to: isoDate.optional(),
  callId: z.string().max(128).optional(),
};
const cursor = z.coerce.number().int().min(0).optional();
const hitsQuerySchema = z
  .object({
    ...filters,
    /** `oldest` first (the default) pages with `after`, `newest` first with `before`; either takes the previous `next`. */
    order: z.enum(['oldest', 'newest']).default('oldest'),
    after: cursor,
    before: cursor,
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
const csvQuerySchema = z.object(filters).strict();
const summaryQuerySchema = z.object({ ...filters, by: z.enum(['rule', 'flow', 'severity', 'day', 'call']).default('rule') }).strict();

/** One stored QA hit, as the QA routes and the call detail return it. */
export const qaHitSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'integer' },
    callId: { type: 'string' },
    flow: { type: 'string' },
    ruleSet: { type: 'string' },
    ruleId: { type: 'string' },
    ruleType: { type: 'string' },
    severity: { type: 'string', enum: ['info', 'minor', 'major', 'critical'] },
    score: { type: 'integer' },
    leg: { type: 'string', enum: ['caller', 'bot'] },
    text: { type: 'string', description: 'what was said (numbers masked), or what was missing or measured' },
    atMs: { type: 'number', description: 'where the hit is in the call recording, ms from its start' },
    endMs: { type: 'number' },
    live: { type: 'boolean', description: 'found in real time on a final (true) or when the call ended (false)' },
    detail: { type: 'object', additionalProperties: true },
    at: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'callId', 'ruleSet', 'ruleId', 'ruleType', 'severity', 'score', 'text', 'atMs', 'live', 'at'],
} as const;

function toQuery(q: { flow?: string; rule?: string; severity?: QaHitQuery['severity']; from?: string; to?: string; callId?: string }): QaHitQuery {
  const normalize = (d: string | undefined): string | undefined => (d === undefined ? undefined : new Date(d).toISOString());
  return { flow: q.flow, ruleId: q.rule, severity: q.severity, from: normalize(q.from), to: normalize(q.to), callId: q.callId };
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ field: i.code === 'unrecognized_keys' ? i.keys.join(', ') : i.path.join('.'), message: i.message }));
  throw new HttpError(400, `invalid query: ${issues[0]?.field}: ${issues[0]?.message}`, { field: issues[0]?.field, issues });
}

const CSV_COLUMNS = ['id', 'at', 'callId', 'flow', 'ruleSet', 'ruleId', 'ruleType', 'severity', 'score', 'leg', 'atMs', 'endMs', 'live', 'text'] as const;
/** Most rows one CSV export holds; narrow the period or filters for more. */
const CSV_MAX_ROWS = 100_000;

/** A CSV cell: quoted when needed, and a leading = + - @ neutralized so a spreadsheet never runs it as a formula. */
function csvCell(v: unknown): string {
  let t = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(t) && typeof v === 'string') t = `'${t}`;
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** QA reports: hits per call, flow, rule and period, summaries, and CSV export. */
export function registerQaRoutes(app: FastifyInstance, opts: { qa: QaStore }): void {
  const { qa } = opts;
  app.get(
    '/api/qa/hits',
    {
      config: { roles: ROLE_SETS.readCalls },
      validatorCompiler: validatedByZod,
      schema: {
        summary: 'QA hits, oldest (default) or newest first, filtered by call, flow, rule, severity and period; `next` is the cursor of the next page (`after` oldest first, `before` newest first)',
        tags: ['qa'],
        querystring: jsonSchemaOf(hitsQuerySchema),
        response: { 200: { type: 'object', properties: { hits: { type: 'array', items: qaHitSchema }, next: { type: 'integer', nullable: true } }, required: ['hits', 'next'] } },
      },
    },
    async (request) => {
      const q = parse(hitsQuerySchema, request.query);
      const hits = await qa.listHits({ ...toQuery(q), order: q.order, after: q.after, before: q.before, limit: q.limit });
      return { hits, next: hits.length === q.limit ? hits[hits.length - 1]!.id : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/calls/:id/qa',
    {
      config: { roles: ROLE_SETS.readCalls },
      schema: {
        summary: "One call's QA hits in recording order, with its total deducted score",
        tags: ['qa'],
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['id'] },
        response: { 200: { type: 'object', properties: { callId: { type: 'string' }, score: { type: 'integer' }, hits: { type: 'array', items: qaHitSchema } }, required: ['callId', 'score', 'hits'] } },
      },
    },
    async (request) => {
      const hits: QaHit[] = await qa.listHits({ callId: request.params.id, limit: 10_000 });
      hits.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      return { callId: request.params.id, score: hits.reduce((n, h) => n + h.score, 0), hits };
    },
  );

  app.get(
    '/api/qa/summary',
    {
      config: { roles: ROLE_SETS.readCalls },
      validatorCompiler: validatedByZod,
      schema: {
        summary: 'QA hits counted per rule, flow, severity, day or call (hits, distinct calls, total score), with the same filters',
        tags: ['qa'],
        querystring: jsonSchemaOf(summaryQuerySchema),
        response: {
          200: {
            type: 'object',
            properties: {
              by: { type: 'string' },
              rows: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, hits: { type: 'integer' }, calls: { type: 'integer' }, score: { type: 'integer' } }, required: ['key', 'hits', 'calls', 'score'] } },
            },
            required: ['by', 'rows'],
          },
        },
      },
    },
    async (request) => {
      const q = parse(summaryQuerySchema, request.query);
      return { by: q.by, rows: await qa.summary(q.by, toQuery(q)) };
    },
  );

  app.get(
    '/api/qa/hits.csv',
    {
      config: { roles: ROLE_SETS.readCalls },
      validatorCompiler: validatedByZod,
      schema: {
        summary: `QA hits as CSV (UTF-8 with BOM for Excel), same filters as /api/qa/hits, at most ${CSV_MAX_ROWS} rows`,
        tags: ['qa'],
        querystring: jsonSchemaOf(csvQuerySchema),
        response: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } } },
      },
    },
    async (request, reply) => {
      const query = toQuery(parse(csvQuerySchema, request.query));
      const lines = [CSV_COLUMNS.join(',')];
      let after: number | undefined;
      for (;;) {
        const page = await qa.listHits({ ...query, after, limit: 5000 });
        for (const h of page) lines.push(CSV_COLUMNS.map((c) => csvCell(h[c])).join(','));
        if (page.length < 5000 || lines.length > CSV_MAX_ROWS) break;
        after = page[page.length - 1]!.id;
      }
      if (lines.length - 1 > CSV_MAX_ROWS) throw new HttpError(413, `more than ${CSV_MAX_ROWS} hits: narrow the period (from, to) or the filters`);
      return reply.header('Content-Type', 'text/csv; charset=utf-8').header('Content-Disposition', 'attachment; filename="qa-hits.csv"').send(`\uFEFF${lines.join('\n')}\n`);
    },
  );
}
