/** One framed ESL message: the outer header block and, when `Content-Length` was given, its body. */
export interface EslMessage {
  /** Outer headers as sent (values not URL-decoded: only some message kinds encode them). */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly body: string | undefined;
}

/** A FreeSWITCH event, whatever format (json, plain) it was delivered in. All values are decoded strings. */
export interface EslEvent {
  readonly name: string;
  /** `Event-Subclass` of CUSTOM events, e.g. `mod_audio_stream::play`. */
  readonly subclass: string | undefined;
  /** `Unique-ID` of the channel the event is about, when it is about one. */
  readonly uniqueId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The event's own body (BACKGROUND_JOB result, mod_audio_stream JSON, ...). */
  readonly body: string | undefined;
}

/** What `text/disconnect-notice` says: `linger` after hangup in outbound mode, `disconnect` when FS closes. */
export interface EslDisconnectNotice {
  readonly disposition: 'linger' | 'disconnect';
  readonly channelUuid: string | undefined;
  readonly body: string | undefined;
}

/** The peer broke the ESL framing; the stream cannot be resynchronised, so the connection must close. */
export class EslProtocolError extends Error {
  constructor(
    message: string,
    /** A short printable excerpt of the offending bytes, for logs. */
    readonly excerpt: string,
  ) {
    super(`ESL protocol error: ${message} (near ${JSON.stringify(excerpt)})`);
    this.name = 'EslProtocolError';
  }
}

/** A command FreeSWITCH answered with `-ERR` / `-USAGE` (api body or Reply-Text). */
export class EslCommandError extends Error {
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(`FreeSWITCH rejected "${command.split('\n')[0]}": ${reply.trim()}`);
    this.name = 'EslCommandError';
  }
}

/** The ESL connection went away (or was never there) while a command waited for its reply. */
export class EslDisconnectedError extends Error {
  constructor(
    readonly command: string,
    reason: string,
  ) {
    super(`ESL connection lost before "${command.split('\n')[0]}" was answered: ${reason}`);
    this.name = 'EslDisconnectedError';
  }
}

/** `auth` was refused. Retrying cannot help: it is a configuration error. */
export class EslAuthError extends Error {
  constructor(host: string, port: number, reply: string) {
    super(`FreeSWITCH at ${host}:${port} refused the ESL password (${reply}); check pbx.freeswitch.password and event_socket.conf.xml`);
    this.name = 'EslAuthError';
  }
}

/** FreeSWITCH's URL encoding (`%2BOK%0A`); values that are not valid escapes are kept as sent. */
export function decodeEslValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
