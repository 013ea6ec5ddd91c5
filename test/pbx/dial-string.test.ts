import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAsteriskDialString, parseFreeswitchDialString } from '../../src/pbx/dial-string.ts';

test('Asterisk: endpoint forms name the ARI endpoint they dial through', () => {
  assert.equal(parseAsteriskDialString('PJSIP/13800138000@trunk'), { kind: 'endpoint', tech: 'PJSIP', resource: 'trunk' });
  assert.equal(parseAsteriskDialString('PJSIP/trunk/sip:13800138000@carrier.example'), { kind: 'endpoint', tech: 'PJSIP', resource: 'trunk' });
  assert.equal(parseAsteriskDialString('PJSIP/sipp-uas'), { kind: 'endpoint', tech: 'PJSIP', resource: 'sipp-uas' });
  assert.equal(parseAsteriskDialString('SIP/trunk/13800138000'), { kind: 'endpoint', tech: 'SIP', resource: 'trunk' });
  assert.equal(parseAsteriskDialString('IAX2/bot:secret@peer1/100'), { kind: 'endpoint', tech: 'IAX2', resource: 'peer1' });
});

test('Asterisk: hosts, Local and other drivers are recognised as forms ARI cannot look up', () => {
  assert.equal(parseAsteriskDialString('IAX2/10.0.0.5/100'), { kind: 'host', tech: 'IAX2', host: '10.0.0.5' });
  assert.equal(parseAsteriskDialString('IAX2/peer1:4569/100'), { kind: 'host', tech: 'IAX2', host: 'peer1' });
  assert.equal(parseAsteriskDialString('SIP/carrier.example/100'), { kind: 'host', tech: 'SIP', host: 'carrier.example' });
  assert.equal(parseAsteriskDialString('Local/100@from-internal'), { kind: 'local', extension: '100', context: 'from-internal' });
  assert.equal(parseAsteriskDialString('Local/100@from-internal/n'), { kind: 'local', extension: '100', context: 'from-internal' });
  assert.equal(parseAsteriskDialString('Local/100'), { kind: 'local', extension: '100', context: 'default' });
  assert.equal(parseAsteriskDialString('DAHDI/g1/13800138000'), { kind: 'other', tech: 'DAHDI' });
});

test('Asterisk: what cannot be originated is invalid, with a reason', () => {
  for (const bad of ['13800138000', 'PJSIP/', '/trunk', 'PJSIP/a&PJSIP/b', 'PJSIP/@', 'Local/@ctx', 'PJ SIP/x', 'PJSIP/tr unk']) {
    const r = parseAsteriskDialString(bad);
    assert.is(r.kind, 'invalid', bad);
    assert.ok(r.kind === 'invalid' && r.reason.length > 0);
  }
});

test('FreeSWITCH: gateway, profile and other legs; variables in {} <> [] skipped; , and | separate legs', () => {
  assert.equal(parseFreeswitchDialString('sofia/gateway/carrier/13800138000'), { kind: 'legs', legs: [{ kind: 'gateway', gateway: 'carrier', destination: '13800138000' }] });
  assert.equal(parseFreeswitchDialString('{origination_caller_id_number=10086,a=b|c}sofia/external/13800138000@carrier.example'), {
    kind: 'legs',
    legs: [{ kind: 'profile', profile: 'external', destination: '13800138000@carrier.example' }],
  });
  assert.equal(parseFreeswitchDialString('[leg_timeout=10]user/1000,[leg_timeout=20]sofia/gateway/gw2/1000|loopback/100/default'), {
    kind: 'legs',
    legs: [{ kind: 'other', module: 'user' }, { kind: 'gateway', gateway: 'gw2', destination: '1000' }, { kind: 'other', module: 'loopback' }],
  });
});

test('FreeSWITCH: what cannot be originated is invalid, with a reason', () => {
  for (const bad of ['13800138000', '', '{a=b', '{a=b}', 'sofia/gateway/carrier', 'sofia/gateway//100', 'sofia/internal', 'user/1000,', '9x/1']) {
    const r = parseFreeswitchDialString(bad);
    assert.is(r.kind, 'invalid', bad);
  }
});

test.run();
