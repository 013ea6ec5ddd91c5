import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AriClient } from 'ari-client';
import { AriRequestError, createAriRest } from '../../../src/pbx/asterisk/ari/ari-rest.ts';

/** An ari-client stand-in whose operations behave as scripted. */
function client(behaviour: (op: string, params: Record<string, unknown>) => Promise<unknown>): AriClient {
  const resource = (name: string): Record<string, (p?: Record<string, unknown>) => Promise<unknown>> =>
    new Proxy({}, { get: (_t, op: string) => (p: Record<string, unknown> = {}) => behaviour(`${name}.${op}`, p) });
  return { channels: resource('channels'), bridges: resource('bridges'), asterisk: resource('asterisk'), applications: resource('applications') } as unknown as AriClient;
}

test('a request Asterisk never answers (swagger-client hangs on refused connections) fails after the deadline', async () => {
  const rest = createAriRest(client(() => new Promise(() => {})), 50);
  const t0 = performance.now();
  let error: unknown;
  await rest.listChannels().catch((err: unknown) => (error = err));
  assert.instance(error, AriRequestError);
  assert.match((error as Error).message, /no reply within 50 ms/);
  // Far below the 8 s the real deadline would take, with room for a busy machine: the point is that it settles.
  assert.ok(performance.now() - t0 < 4000);
});

test("Asterisk's error bodies become typed errors; 404 on hangup/getChannel/destroyBridge is not an error", async () => {
  const rest = createAriRest(
    client(async (op) => {
      if (op === 'channels.originate') throw new Error('{"error":"Allocation failed"}');
      if (op === 'channels.answer') throw new Error('{"message":"Channel not in Stasis application"}');
      throw new Error('{"message":"Channel not found"}');
    }),
  );
  assert.is(await rest.hangup('gone', 16), false);
  assert.is(await rest.getChannel('gone'), undefined);
  assert.is(await rest.destroyBridge('gone'), false);
  const originate = await rest.originate({ endpoint: 'X/y', app: 'bot', appArgs: '', channelId: 'c' }).catch((e: AriRequestError) => e);
  assert.instance(originate, AriRequestError);
  assert.match((originate as Error).message, /Allocation failed/);
  const answer = await rest.answer('c').catch((e: AriRequestError) => e);
  assert.ok((answer as AriRequestError).notInStasis);
});

test('resources come back as plain data without ari-client internals', async () => {
  const rest = createAriRest(
    client(async () => [{ id: '1.1', name: 'PJSIP/a', state: 'Up', caller: { name: '', number: '1' }, _client: { circular: true }, hangup: () => undefined }]),
  );
  const [ch] = await rest.listChannels();
  assert.equal(Object.keys(ch).sort(), ['caller', 'id', 'name', 'state']);
});

test.run();
