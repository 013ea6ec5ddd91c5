import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineCounter, parseDocument } from 'yaml';
import { yamlPathPosition } from '../../src/config/index.ts';

const source = ['flow: demo', 'steps:', '  greet:', '    say: hello', '    on:', '      - yes', '      - no', 'rules:', '  - id: a', '    type: keyword', ''].join('\n');
const lines = new LineCounter();
const doc = parseDocument(source, { lineCounter: lines });
const at = (path: Array<string | number>, atKey = false): [number, number, number] => {
  const p = yamlPathPosition(doc, lines, path, atKey);
  return [p.line, p.column, p.matched];
};

test('a value, its key, and list items are found at their line and column', () => {
  assert.equal(at(['steps', 'greet', 'say']), [4, 10, 3]);
  assert.equal(at(['steps', 'greet', 'say'], true), [4, 5, 3]);
  assert.equal(at(['steps', 'greet', 'on', 1]), [7, 9, 4]);
  assert.equal(at(['rules', 0, 'type']), [10, 11, 3]);
});

test('a path that leaves the document points at its deepest existing part, and says how much of it exists', () => {
  assert.equal(at(['steps', 'greet', 'missing']), [4, 5, 2]);
  assert.equal(at(['rules', 5, 'id']), [9, 3, 1]);
  assert.equal(at(['nothing']), [1, 1, 0]);
});

test('numeric path segments match numeric-looking map keys (zod and the env give them as either)', () => {
  const l = new LineCounter();
  const d = parseDocument('codes:\n  404: missing\n', { lineCounter: l });
  assert.equal(yamlPathPosition(d, l, ['codes', 404]).line, 2);
  assert.equal(yamlPathPosition(d, l, ['codes', '404']).line, 2);
});

test.run();
