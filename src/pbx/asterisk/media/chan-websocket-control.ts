/** One control message from chan_websocket, whichever format it came in. */
export interface ChanWebSocketEvent {
  event: string;
  /** `key:value` pairs (plain text) or JSON fields, as strings. */
  fields: Record<string, string>;
  /** The bare argument of plain-text events such as `MEDIA_MARK_PROCESSED mark-A`. */
  argument?: string;
}

export type ParsedControl = { ok: true; message: ChanWebSocketEvent } | { ok: false; error: string };

const EVENT_NAME = /^[A-Z][A-Z_]*$/;

/**
 * Parse a TEXT frame from chan_websocket. Plain text is `EVENT key:value key:value` (values never
 * hold spaces, except ERROR's error_text, which runs to the end) or `EVENT argument`; JSON is
 * `{"event": ..., ...}`.
 */
export function parseControlMessage(text: string): ParsedControl {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let raw: unknown;
    try {
      raw = JSON.parse(trimmed);
    } catch {
      return { ok: false, error: `unparsable JSON control message: ${trimmed.slice(0, 60)}` };
    }
    if (typeof raw !== 'object' || raw === null || typeof (raw as { event?: unknown }).event !== 'string') {
      return { ok: false, error: 'JSON control message without an event' };
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (k === 'event') continue;
      fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    const event = (raw as { event: string }).event;
    return { ok: true, message: { event, fields, argument: fields.correlation_id } };
  }
  const space = trimmed.indexOf(' ');
  const event = space < 0 ? trimmed : trimmed.slice(0, space);
  if (!EVENT_NAME.test(event)) return { ok: false, error: `not a chan_websocket control message: ${trimmed.slice(0, 60)}` };
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  const fields: Record<string, string> = {};
  let argument: string | undefined;
  if (rest !== '') {
    const errorAt = rest.indexOf('error_text:');
    const head = errorAt >= 0 ? rest.slice(0, errorAt) : rest;
    if (errorAt >= 0) fields.error_text = rest.slice(errorAt + 'error_text:'.length).trim();
    for (const token of head.split(' ')) {
      if (token === '') continue;
      const colon = token.indexOf(':');
      if (colon > 0) fields[token.slice(0, colon)] = token.slice(colon + 1);
      else argument = argument === undefined ? token : `${argument} ${token}`;
    }
  }
  return { ok: true, message: { event, fields, argument } };
}

/** Format a command for the socket's control format. */
export function formatCommand(json: boolean, command: string, correlationId?: string): string {
  if (json) return JSON.stringify(correlationId === undefined ? { command } : { command, correlation_id: correlationId });
  return correlationId === undefined ? command : `${command} ${correlationId}`;
}
