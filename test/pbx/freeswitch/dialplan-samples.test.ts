import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { freeswitchConfigSchema } from '../../../src/pbx/config.ts';

/** The FreeSWITCH samples in dialplan/freeswitch, loaded the way FreeSWITCH would read them. */
const dir = new URL('../../../dialplan/freeswitch/', import.meta.url);
const flowsDir = new URL('../../../configs/flows/', import.meta.url);

interface Action {
  application: string;
  data?: string;
}
interface Extension {
  name: string;
  expression: string;
  actions: Action[];
}

function extensions(file: string): Extension[] {
  const text = readFileSync(new URL(file, dir), 'utf8');
  const valid = XMLValidator.validate(text);
  assert.ok(valid === true, `${file} is not well-formed XML: ${JSON.stringify(valid)}`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['extension', 'condition', 'action'].includes(name) });
  const doc = parser.parse(text) as { include?: { extension?: { name: string; condition: { field: string; expression: string; action?: Action[] }[] }[] } };
  return (doc.include?.extension ?? []).map((e) => ({
    name: e.name,
    expression: e.condition[0].expression,
    actions: e.condition.flatMap((c) => c.action ?? []),
  }));
}

const varsOf = (e: Extension): Record<string, string> =>
  Object.fromEntries(
    e.actions.filter((a) => a.application === 'set' && a.data?.includes('=')).map((a) => [a.data!.slice(0, a.data!.indexOf('=')), a.data!.slice(a.data!.indexOf('=') + 1)]),
  );

test('every shipped FreeSWITCH XML file is well-formed', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml'));
  assert.ok(files.length >= 3, files.join(', '));
  for (const file of files) assert.ok(XMLValidator.validate(readFileSync(new URL(file, dir), 'utf8')) === true, file);
});

test('the public-context sample sorts before conf/minimal\'s public/00_stub.xml catch-all, and every flow it names exists', () => {
  const file = readdirSync(dir).find((f) => f.endsWith('.xml') && /callpilot/.test(f) && !/agent/.test(f)) ?? '';
  assert.ok(file < '00_stub.xml', `${file} is included after 00_stub.xml, whose catch-all answers 480 first`);
  const bots = extensions(file);
  assert.ok(bots.length >= 2);
  for (const e of bots) {
    const vars = varsOf(e);
    const flow = vars.callpilot_flow;
    assert.ok(flow, `${e.name} names a flow`);
    const lang = vars.callpilot_lang;
    const candidates = lang ? [`${flow}.${lang}.yaml`] : readdirSync(flowsDir).filter((f) => f.startsWith(`${flow}.`));
    assert.ok(candidates.length > 0 && candidates.every((f) => existsSync(new URL(f, flowsDir))), `${e.name}: flow ${flow}${lang ? `.${lang}` : ''} is not in configs/flows`);
  }
});

test('bot extensions ask for RTP keepalive before park/socket (park reads send_silence_when_idle once)', () => {
  for (const e of extensions('00_callpilot.xml')) {
    const apps = e.actions.map((a) => (a.application === 'set' ? `set ${a.data?.split('=')[0]}` : a.application));
    const keepalive = apps.indexOf('set send_silence_when_idle');
    const hand = apps.findIndex((a) => a === 'park' || a === 'socket');
    assert.ok(keepalive >= 0 && keepalive < hand, `${e.name}: ${apps.join(', ')}`);
  }
});

test('the agent extension is where the default transfer goes (extension, context), and not in the public context', () => {
  const defaults = freeswitchConfigSchema.parse({ password: 'x' }).transfer;
  const agent = extensions('callpilot_agent.xml');
  assert.ok(agent.some((e) => new RegExp(e.expression).test(defaults.extension)), `no extension matches ${defaults.extension}`);
  const text = readFileSync(new URL('callpilot_agent.xml', dir), 'utf8');
  assert.ok(text.includes(`conf/dialplan/${defaults.context}/`), `the agent sample must be installed in the ${defaults.context} context`);
  assert.not.ok(extensions('00_callpilot.xml').some((e) => new RegExp(e.expression).test(defaults.extension)), 'no agent extension in public');
});

test.run();
