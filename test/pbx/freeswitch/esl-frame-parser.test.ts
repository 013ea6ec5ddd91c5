import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeEslEvent } from '../../../src/pbx/freeswitch/esl/esl-event-decoder.ts';
import { EslFrameParser } from '../../../src/pbx/freeswitch/esl/esl-frame-parser.ts';
import type { EslMessage, EslProtocolError } from '../../../src/pbx/freeswitch/esl/esl-message.ts';
import { rxChunks, splitMessages } from './peer/capture.ts';

function parseChunks(chunks: Uint8Array[]): { messages: EslMessage[]; errors: EslProtocolError[]; parser: EslFrameParser } {
  const messages: EslMessage[] = [];
  const errors: EslProtocolError[] = [];
  const parser = new EslFrameParser(
    (m) => messages.push(m),
    (e) => errors.push(e),
  );
  for (const chunk of chunks) parser.push(chunk);
  return { messages, errors, parser };
}

const CAPTURES: [string, string][] = [
  ['b_audio_stream.esl.jsonl', 'esl'],
  ['c_originate.esl.jsonl', 'esl'],
  ['a_inbound_auth_events.esl.jsonl', 'esl'],
  ['a2_event_plain_xml_filter.esl.jsonl', 'esl'],
  ['f_outbound_socket.esl.jsonl', 'esl-outbound'],
  ['g_errors.esl.jsonl', 'esl-g2'],
  ['e_record_transfer.esl.jsonl', 'esl'],
];

for (const [file, conn] of CAPTURES) {
  test(`replays ${file} exactly as FreeSWITCH split its reads`, () => {
    const expected = splitMessages(file, conn);
    const { messages, errors, parser } = parseChunks(rxChunks(file, conn));
    assert.equal(errors, []);
    assert.is(parser.pendingBytes, 0);
    assert.is(messages.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.is(messages[i].contentType, expected[i].headers['Content-Type']);
      assert.is(messages[i].body, expected[i].body);
    }
  });
}

test('the same stream byte by byte and as one block gives the same messages', () => {
  const chunks = rxChunks('b_audio_stream.esl.jsonl', 'esl');
  const whole = Buffer.concat(chunks);
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < 30000; i++) bytes.push(whole.subarray(i, i + 1));
  bytes.push(whole.subarray(30000));
  const a = parseChunks([whole]).messages;
  const b = parseChunks(bytes).messages;
  assert.is(a.length, b.length);
  assert.ok(a.length > 50);
  assert.equal(
    a.map((m) => m.body),
    b.map((m) => m.body),
  );
});

test('Content-Length before Content-Type and bodies of multibyte UTF-8 are counted in bytes', () => {
  const json = JSON.stringify({ 'Event-Name': 'CUSTOM', 'Event-Subclass': 'mod_audio_stream::json', _body: '{"text":"您好，请问"}' });
  const frame = `Content-Length: ${Buffer.byteLength(json)}\nContent-Type: text/event-json\n\n${json}Content-Type: command/reply\nReply-Text: +OK\n\n`;
  const { messages, errors } = parseChunks([Buffer.from(frame)]);
  assert.equal(errors, []);
  assert.is(messages.length, 2);
  const event = decodeEslEvent(messages[0]);
  assert.not.instance(event, Error);
  if (event instanceof Error) return;
  assert.is(event.body, '{"text":"您好，请问"}');
  assert.is(messages[1].headers['Reply-Text'], '+OK');
});

test('Reply-Text keeps everything after the first colon', () => {
  const { messages } = parseChunks([Buffer.from('Content-Type: command/reply\nReply-Text: +OK Job-UUID: 5c47-11\nJob-UUID: 5c47-11\n\n')]);
  assert.is(messages[0].headers['Reply-Text'], '+OK Job-UUID: 5c47-11');
});

test('the outbound connect reply decodes as channel data with URL-decoded values', () => {
  const [connectReply] = parseChunks(rxChunks('f_outbound_socket.esl.jsonl', 'esl-outbound')).messages;
  assert.is(connectReply.contentType, 'command/reply');
  assert.is(connectReply.headers['Reply-Text'], '%2BOK%0A');
  assert.is(connectReply.headers['Socket-Mode'], 'async');
});

test('plain events: URL-encoded values and an inner body sized by its own Content-Length', () => {
  const messages = parseChunks(rxChunks('a2_event_plain_xml_filter.esl.jsonl', 'esl')).messages;
  const plain = messages.filter((m) => m.contentType === 'text/event-plain');
  assert.ok(plain.length >= 1);
  const event = decodeEslEvent(plain[0]);
  if (event instanceof Error) throw event;
  assert.is(event.name, 'BACKGROUND_JOB');
  assert.ok(event.headers['Event-Date-Local']?.includes(' '), 'date decoded');
  assert.ok(event.body?.startsWith('+OK') || event.body?.startsWith('UP') || (event.body ?? '').length > 0);
});

test('a non-numeric Content-Length is a clear protocol error and parsing stops', () => {
  const { messages, errors, parser } = parseChunks([
    Buffer.from('Content-Type: command/reply\nReply-Text: +OK\n\nContent-Length: 12x\nContent-Type: api/response\n\n+OK Success\n'),
    Buffer.from('Content-Type: command/reply\nReply-Text: +OK\n\n'),
  ]);
  assert.is(messages.length, 1);
  assert.is(errors.length, 1);
  assert.match(errors[0].message, /Content-Length is not a byte count: "12x"/);
  assert.ok(parser.failed);
});

test('garbage without header syntax is rejected', () => {
  const { messages, errors } = parseChunks([Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\nhello\n\n')]);
  assert.is(messages.length, 0);
  assert.is(errors.length, 1);
  assert.match(errors[0].message, /header line|Content-Type/);
});

test('a truncated body is reported when the stream ends', () => {
  const { messages, errors, parser } = parseChunks([Buffer.from('Content-Type: api/response\nContent-Length: 40\n\n+OK partial')]);
  assert.is(messages.length, 0);
  assert.is(errors.length, 0);
  const err = parser.finish();
  assert.ok(err);
  assert.match(err?.message ?? '', /inside a body \(11 of 40 bytes\)/);
});

test('an oversized Content-Length is refused instead of buffered', () => {
  const errors: EslProtocolError[] = [];
  const parser = new EslFrameParser(
    () => undefined,
    (e) => errors.push(e),
    { maxBodyBytes: 1000 },
  );
  parser.push(Buffer.from('Content-Type: api/response\nContent-Length: 999999\n\n'));
  assert.match(errors[0]?.message ?? '', /exceeds/);
});

test.run();
