import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freeswitchConfigSchema } from '../../../src/pbx/config.ts';
import { createFreeswitchAdapter } from '../../../src/pbx/freeswitch/index.ts';
import type { HangupInfo, PbxCall } from '../../../src/pbx/types.ts';
import { loadLines } from './peer/capture.ts';
import { freePort, until } from '../../support/e2e.ts';
import { FakeFreeswitch } from './peer/fake-freeswitch.ts';
import { TestMediaServer } from './peer/media-server.ts';
import { testLog } from '../../support/run-log.ts';

const log = testLog();

test('outbound socket: connect, myevents, linger, extra events; answer via sendmsg; we close after the linger notice', async () => {
  const fs = new FakeFreeswitch({ timeScale: 0.05 });
  const eslPort = await fs.listen();
  const media = new TestMediaServer();
  const mediaPort = await media.listen();
  const cfg = freeswitchConfigSchema.parse({
    port: eslPort,
    password: fs.password,
    mediaUrl: `ws://127.0.0.1:${mediaPort}/media/freeswitch`,
    outboundSocketPort: 0,
  });
  // Port 0 means "off" in config, so borrow a free port from the OS first.
  const adapter = createFreeswitchAdapter({ ...cfg, outboundSocketPort: await freePort() }, { log });
  media.routes = adapter.webSocketRoutes();
  try {
    await adapter.start();
    const port = adapter.outboundSocketPort ?? 0;
    const callPromise = once(adapter, 'call') as Promise<[PbxCall]>;
    const channel = await fs.connectOutboundSocket(port, { variables: { callpilot_flow: 'survey' } });
    const [call] = await callPromise;
    assert.is(call.info.pbxCallId, channel.uuid);
    assert.is(call.info.flow, 'survey');
    assert.is(call.info.to, '101');
    const session = fs.commands.slice(-4);
    assert.equal(session.slice(0, 3), ['connect', 'myevents', 'linger']);
    assert.match(session[3], /^event plain PLAYBACK_START PLAYBACK_STOP .*CUSTOM mod_audio_stream::play/);

    await call.answer();
    assert.ok(fs.commands.some((c) => c.startsWith(`sendmsg ${channel.uuid}\ncall-command: execute\nexecute-app-name: answer`)));
    const leg = await call.openMedia();
    leg.play(new Int16Array(16000).fill(1000));
    await until(() => channel.playbacks.length >= 1 && channel.playbacks[0].startedAt !== undefined, 'playback over the outbound socket');

    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    await fs.hangupFromCaller(channel.uuid, 'NORMAL_CLEARING');
    const [info] = await hungUp;
    assert.is(info.cause, 16);
    // FS lingers for ever: callpilot must close the socket itself.
    const session2 = channel.outboundSession;
    await until(() => session2?.socket.destroyed === true || session2?.socket.readableEnded === true, 'socket closed by callpilot', 4000);
  } finally {
    await adapter.stop();
    await media.close();
    await fs.close();
  }
});

test('the HTTP server accepts mod_audio_stream upgrade bytes exactly as captured (no space after colons)', async () => {
  const [request] = loadLines('b_audio_stream.ws.jsonl').filter((l) => l.kind === 'http-upgrade-request');
  const [response] = loadLines('b_audio_stream.ws.jsonl').filter((l) => l.kind === 'http-upgrade-response');
  const media = new TestMediaServer();
  const accepted: string[] = [];
  media.routes = [{ path: '/fs', roles: ['pbx'], handle: (ws, req) => (accepted.push(req.url ?? ''), ws.close(1000)) }];
  const port = await media.listen();
  try {
    const socket = connect({ port, host: '127.0.0.1' });
    await once(socket, 'connect');
    socket.write(request.data ?? '');
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    const head = chunk.toString('latin1');
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const expectedAccept = /Sec-WebSocket-Accept: (\S+)/.exec(response.data ?? '')?.[1];
    assert.ok(expectedAccept);
    assert.ok(head.includes(`Sec-WebSocket-Accept: ${expectedAccept}`), 'same accept key as the real exchange');
    assert.not.match(head, /Sec-WebSocket-Extensions/);
    assert.equal(accepted, ['/fs']);
    socket.destroy();
  } finally {
    await media.close();
  }
});

test.run();
