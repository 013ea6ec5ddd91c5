import { type EslEvent, type EslMessage, EslProtocolError, decodeEslValue } from './esl-message.ts';

/**
 * Turns a `text/event-json` or `text/event-plain` message into an EslEvent.
 * JSON values are plain strings with the body under `_body`; plain events URL-encode their values
 * and carry the body after an inner blank line, sized by an inner Content-Length.
 */
export function decodeEslEvent(message: EslMessage): EslEvent | EslProtocolError {
  const body = message.body ?? '';
  if (message.contentType === 'text/event-json') return decodeJsonEvent(body);
  if (message.contentType === 'text/event-plain') return decodeHeaderBlockEvent(body);
  return new EslProtocolError(`unsupported event format ${message.contentType} (callpilot subscribes json)`, body.slice(0, 80));
}

function decodeJsonEvent(text: string): EslEvent | EslProtocolError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return new EslProtocolError(`event body is not JSON: ${(err as Error).message}`, text.slice(0, 80));
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return new EslProtocolError('event JSON is not an object', text.slice(0, 80));
  }
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let body: string | undefined;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const text = typeof value === 'string' ? value : String(value);
    if (key === '_body') body = text;
    else headers[key] = text;
  }
  return toEvent(headers, body, text);
}

/** Also used for the outbound-mode `connect` reply, whose outer headers are the channel data. */
export function decodeHeaderBlockEvent(text: string): EslEvent | EslProtocolError {
  const blank = text.indexOf('\n\n');
  const headerText = blank < 0 ? text : text.slice(0, blank);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of headerText.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return new EslProtocolError('plain event header line without "name: value"', line.slice(0, 80));
    const raw = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    headers[line.slice(0, colon)] = decodeEslValue(raw);
  }
  let body: string | undefined;
  const lengthText = headers['Content-Length'];
  if (lengthText !== undefined && blank >= 0) {
    // The inner Content-Length counts bytes of what follows the blank line.
    const rest = Buffer.from(text.slice(blank + 2), 'utf8');
    const length = Number(lengthText);
    if (!Number.isInteger(length) || length < 0 || length > rest.length) {
      return new EslProtocolError(`plain event Content-Length ${lengthText} does not fit its body`, text.slice(blank, blank + 80));
    }
    body = rest.toString('utf8', 0, length);
  }
  return toEvent(headers, body, headerText);
}

function toEvent(headers: Record<string, string>, body: string | undefined, source: string): EslEvent | EslProtocolError {
  const name = headers['Event-Name'];
  if (!name) return new EslProtocolError('event without Event-Name', source.slice(0, 80));
  return { name, subclass: headers['Event-Subclass'], uniqueId: headers['Unique-ID'], headers, body };
}
