import { z } from 'zod';

/**
 * The config schema seen as a tree of keys. Section schemas live in other folders and are not `.strict()`,
 * so unknown-key checks, env overrides and the reference table all walk this tree instead of relying on zod
 * to reject or describe keys.
 */
export interface ConfigKey {
  /** Path segments from the root, e.g. ['speech', 'endpoint', 'trailingSilenceMs']. */
  path: string[];
  /** The schema with optional/default/prefault wrappers removed. */
  schema: z.ZodType;
  /** Whether the key is an object of further keys (a section or sub-section). */
  isObject: boolean;
  /** The key may be absent and has no default (e.g. `pbx.asterisk`). */
  optional: boolean;
  /** Default value when the key is absent; undefined when it has none. */
  defaultValue: unknown;
  /** Text from `.describe()`, if any. */
  description?: string;
}

/** Removes optional/default/prefault/nullable/readonly wrappers; reports what was peeled off. */
export function unwrapSchema(schema: z.ZodType): { inner: z.ZodType; optional: boolean; defaultValue: unknown; description?: string } {
  let current: z.ZodType = schema;
  let optional = false;
  let defaultValue: unknown = undefined;
  let description: string | undefined = schema.description;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodReadonly) {
      if (current instanceof z.ZodOptional) optional = true;
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      if (defaultValue === undefined) defaultValue = current._zod.def.defaultValue;
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current._zod.def.in as z.ZodType;
    } else {
      break;
    }
    description ??= current.description;
  }
  return { inner: current, optional: optional && defaultValue === undefined, defaultValue, description };
}

/** Every key of the schema, depth first, objects before their children. */
export function listConfigKeys(root: z.ZodObject): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const visit = (object: z.ZodObject, prefix: string[]): void => {
    for (const [name, child] of Object.entries(object.shape)) {
      const { inner, optional, defaultValue, description } = unwrapSchema(child as z.ZodType);
      const path = [...prefix, name];
      const isObject = inner instanceof z.ZodObject;
      keys.push({ path, schema: inner, isObject, optional, defaultValue, description });
      if (inner instanceof z.ZodObject) visit(inner, path);
    }
  };
  visit(root, []);
  return keys;
}

/** Paths of keys in `input` that the schema does not know, at any depth (objects, optional objects, arrays of objects). */
export function findUnknownKeys(input: unknown, schema: z.ZodType, prefix: (string | number)[] = []): (string | number)[][] {
  const { inner } = unwrapSchema(schema);
  const unknown: (string | number)[][] = [];
  if (inner instanceof z.ZodObject && isPlainObject(input)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    const allowsExtra = inner._zod.def.catchall !== undefined && !(inner._zod.def.catchall instanceof z.ZodNever);
    for (const [key, value] of Object.entries(input)) {
      const child = shape[key];
      if (child === undefined) {
        if (!allowsExtra) unknown.push([...prefix, key]);
        continue;
      }
      unknown.push(...findUnknownKeys(value, child, [...prefix, key]));
    }
  } else if (inner instanceof z.ZodArray && Array.isArray(input)) {
    input.forEach((item, i) => unknown.push(...findUnknownKeys(item, inner.element as z.ZodType, [...prefix, i])));
  } else if (inner instanceof z.ZodRecord && isPlainObject(input)) {
    for (const [key, value] of Object.entries(input)) {
      unknown.push(...findUnknownKeys(value, inner._zod.def.valueType as z.ZodType, [...prefix, key]));
    }
  }
  return unknown;
}

/** `trailingSilenceMs` -> `TRAILING_SILENCE_MS`. */
export function upperSnake(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

export const ENV_PREFIX = 'CALLPILOT_';

export function envVarName(path: string[]): string {
  return ENV_PREFIX + path.map(upperSnake).join('_');
}

/** Short human-readable type of a leaf schema, for errors and the reference table. */
export function describeType(schema: z.ZodType): string {
  if (schema instanceof z.ZodNumber) {
    const int = schema.isInt ? 'integer' : 'number';
    const min = schema.minValue ?? undefined;
    const max = schema.maxValue ?? undefined;
    // zod reports the safe-integer bounds for .int(); those say nothing to a reader.
    const shownMin = min !== undefined && Number.isFinite(min) && min > Number.MIN_SAFE_INTEGER ? min : undefined;
    const shownMax = max !== undefined && Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER ? max : undefined;
    if (shownMin !== undefined && shownMax !== undefined) return `${int} ${shownMin}..${shownMax}`;
    if (shownMin !== undefined) return `${int} >= ${shownMin}`;
    if (shownMax !== undefined) return `${int} <= ${shownMax}`;
    return int;
  }
  if (schema instanceof z.ZodString) return 'string';
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodEnum) return schema.options.map((o) => JSON.stringify(o)).join(' | ');
  if (schema instanceof z.ZodLiteral) return JSON.stringify(schema.value);
  if (schema instanceof z.ZodArray) return `${describeType(unwrapSchema(schema.element as z.ZodType).inner)}[]`;
  if (schema instanceof z.ZodTuple) {
    return `[${(schema._zod.def.items as z.ZodType[]).map((item) => describeType(unwrapSchema(item).inner)).join(', ')}]`;
  }
  if (schema instanceof z.ZodObject) return 'object';
  if (schema instanceof z.ZodRecord) return 'map';
  if (schema instanceof z.ZodUnion) {
    return (schema._zod.def.options as z.ZodType[]).map((option) => describeType(unwrapSchema(option).inner)).join(' | ');
  }
  return 'value';
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
