import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackchannelMatcher, countSpokenWords } from '../../src/dialog/backchannel.ts';

test('spoken words: Han characters count one each, Latin words one each, punctuation none', () => {
  assert.is(countSpokenWords('我已经还款了'), 6);
  assert.is(countSpokenWords('嗯，好的。'), 3);
  assert.is(countSpokenWords('talk to an agent'), 4);
  assert.is(countSpokenWords('ok 好的'), 3);
  assert.is(countSpokenWords('转人工 please'), 4);
  assert.is(countSpokenWords('  ，。 '), 0);
  // Whitespace splitting would call this one word and let a long sentence pass as a backchannel.
  assert.is(countSpokenWords('我想问一下这个费用是怎么算的'), 14);
});

test('backchannels: configured acknowledgements, repeated or chained, short', () => {
  const m = new BackchannelMatcher(['嗯', '嗯嗯', '对', '好', '好的', '是', 'uh-huh', 'mhm', 'yeah', 'ok', 'okay', 'right']);
  for (const t of ['嗯', '嗯嗯', '对对对', '好的好的', '嗯，对', '是是', 'uh-huh', 'okay yeah', 'Yeah.', 'mhm right']) assert.ok(m.matches(t), t);
  for (const t of ['不对', '好的我知道了但是', '对不起', '是的我要转人工', '嗯嗯嗯嗯嗯', 'yeah i want an agent', '转人工', '', '不'])
    assert.not.ok(m.matches(t), t);
});

test.run();
