import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asteriskConfigSchema } from '../../../src/pbx/config.ts';
import { REPO_ROOT } from '../../support/e2e.ts';

/** One `key = value` (or `exten => ...`) line of an Asterisk .conf file, comments stripped. */
interface ConfLine {
  key: string;
  value: string;
  line: number;
}

interface ConfSection {
  name: string;
  lines: ConfLine[];
  get(key: string): string | undefined;
}

/**
 * Asterisk's .conf syntax as its config parser reads it: `[section]` headers (with optional `(template)` suffix),
 * `key = value` and `key => value`, `;` starts a comment unless escaped as `\;`.
 */
function parseConf(text: string): ConfSection[] {
  const sections: ConfSection[] = [];
  let current: ConfSection | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = stripComment(raw).trim();
    if (line === '') return;
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) {
      const lines: ConfLine[] = [];
      current = { name: header[1]!, lines, get: (key) => lines.find((l) => l.key === key)?.value };
      sections.push(current);
      return;
    }
    const kv = /^([^=]+?)\s*=>?\s*(.*)$/.exec(line);
    assert.ok(kv && current, `line ${index + 1} is neither a section nor key = value: ${raw}`);
    current.lines.push({ key: kv[1]!.trim(), value: kv[2]!.trim(), line: index + 1 });
  });
  return sections;
}

function stripComment(line: string): string {
  for (let i = 0; i < line.length; i++) if (line[i] === ';' && line[i - 1] !== '\\') return line.slice(0, i);
  return line;
}

const DIR = join(REPO_ROOT, 'dialplan/asterisk');
const read = (file: string): ConfSection[] => parseConf(readFileSync(join(DIR, file), 'utf8'));

test('every flow the shipped dialplan names exists in configs/flows, and every application call is whole', () => {
  for (const file of ['extensions.conf', 'extensions-cluster.conf'].filter((f) => existsSync(join(DIR, f)))) {
    let stasis = 0;
    for (const section of read(file)) {
      for (const { key, value, line } of section.lines) {
        if (key !== 'exten' && key !== 'same') continue;
        // A `;` inside the arguments starts a comment: what is left has unbalanced parentheses.
        const open = (value.match(/\(/g) ?? []).length;
        const close = (value.match(/\)/g) ?? []).length;
        assert.is(open, close, `${file}:${line} [${section.name}] application arguments cut short: ${value}`);
        const m = /Stasis\(([^)]*)\)/.exec(value);
        if (!m) continue;
        stasis++;
        const args = Object.fromEntries(m[1]!.split(',').slice(1).map((a) => a.split('=') as [string, string]));
        if (!args.flow) continue;
        const lang = args.lang ?? 'zh';
        assert.ok(existsSync(join(REPO_ROOT, 'configs/flows', `${args.flow}.${lang}.yaml`)), `${file}:${line} names flow ${args.flow} (${lang}), which does not exist`);
      }
    }
    assert.ok(stasis > 0, `${file} routes calls to callpilot`);
  }
});

test('pjsip.conf: media_address on every endpoint, no qualify of placeholder hosts, no identify by the PBX host address', () => {
  const sections = read('pjsip.conf');
  const endpoints = sections.filter((s) => s.get('type') === 'endpoint');
  assert.ok(endpoints.length >= 2);
  for (const e of endpoints) assert.ok(e.get('media_address'), `endpoint ${e.name} has media_address`);
  for (const aor of sections.filter((s) => s.get('type') === 'aor')) {
    const placeholder = /\.example\b/.test(aor.get('contact') ?? '');
    if (placeholder) assert.is(Number(aor.get('qualify_frequency') ?? 0), 0, `aor ${aor.name} qualifies a placeholder host`);
  }
  for (const id of sections.filter((s) => s.get('type') === 'identify')) {
    assert.not.ok(/^(127\.|localhost)/.test(id.get('match') ?? ''), `identify ${id.name} matches every request from the PBX host`);
  }
});

test("rtp.conf ships, and Asterisk's RTP range does not overlap callpilot's default rtpPortRange", () => {
  const [general] = read('rtp.conf').filter((s) => s.name === 'general');
  assert.ok(general);
  const start = Number(general.get('rtpstart'));
  const end = Number(general.get('rtpend'));
  assert.ok(start > 0 && end > start);
  const [ourStart, ourEnd] = asteriskConfigSchema.parse({}).rtpPortRange;
  assert.ok(end < ourStart || start > ourEnd, `Asterisk ${start}-${end} overlaps callpilot ${ourStart}-${ourEnd}`);
});

test('media listeners bind to loopback unless configured otherwise', () => {
  assert.is(asteriskConfigSchema.parse({}).mediaBindHost, '127.0.0.1');
});

test('the parser is strict enough to catch the mistakes it checks for', () => {
  const cut = parseConf('[agents]\nexten => s,1,NoOp(Transfer; summary)\n');
  const value = cut[0]!.lines[0]!.value;
  assert.not.equal((value.match(/\(/g) ?? []).length, (value.match(/\)/g) ?? []).length);
  const escaped = parseConf('[a]\nexten => s,1,NoOp(a\\; b)\n');
  assert.match(escaped[0]!.lines[0]!.value, /\\; b\)/);
});

test.run();
