import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { HttpError } from './http-error.ts';

/**
 * The JSON schema (OpenAPI 3.0's dialect, for the document; zod validates) of a zod schema, as a request accepts it
 * (`io: 'input'`: a coerced or transformed field is described by what the client sends).
 */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json['$schema'];
  return json;
}

/**
 * For routes whose handler parses with zod: the schema documents the request, zod alone validates it (so the
 * 400 names the field the same way everywhere and Ajv does not silently strip unknown keys first).
 */
export const validatedByZod: FastifySchemaCompiler<unknown> = () => (data: unknown) => ({ value: data });

/** Validates with zod; on failure a 400 naming the first bad field and listing all issues. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: 'query' | 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  throw new HttpError(400, `invalid ${where}: ${first ? `${first.field || where}: ${first.message}` : 'malformed'}`, {
    field: first?.field,
    issues,
  });
}
