import { type EslMessage, EslProtocolError } from './esl-message.ts';

export interface EslFrameParserOptions {
  /** A header block longer than this is garbage, not ESL (the outbound `connect` reply is ~6 KB). */
  maxHeaderBytes?: number;
  /** Larger bodies are refused rather than buffered (`show api` is ~13 KB, big events ~50 KB). */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_HEADER_BYTES = 1 << 20;
const DEFAULT_MAX_BODY_BYTES = 32 << 20;
const NEWLINE = 0x0a;
const CONTENT_LENGTH_PATTERN = /^\d{1,10}$/;

/**
 * Cuts the ESL byte stream into messages. FreeSWITCH's reads are not aligned to messages: one read
 * may hold fourteen events, a header block without its body, or a reply and an event together, so
 * this works on bytes (Content-Length counts bytes, bodies may hold UTF-8) with one growing buffer.
 * After a framing error the stream cannot be trusted again: the parser stops and reports once.
 */
export class EslFrameParser {
  private buffer: Buffer;
  private start = 0;
  private end = 0;
  /** Where the search for the end of the current header block resumes, so big reads are scanned once. */
  private scanFrom = 0;
  private pendingHeaders: Record<string, string> | undefined;
  private pendingBodyLength = 0;
  private failure: EslProtocolError | undefined;
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;

  constructor(
    private readonly onMessage: (message: EslMessage) => void,
    private readonly onError: (err: EslProtocolError) => void,
    options: EslFrameParserOptions = {},
  ) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.buffer = Buffer.allocUnsafe(64 * 1024);
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Bytes received but not yet part of a complete message. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) return;
    this.append(chunk);
    while (!this.failure && this.extractOne()) {
      // keep going: one read often carries many messages
    }
  }

  /** The stream ended; leftover bytes mean a truncated message. */
  finish(): EslProtocolError | undefined {
    if (this.failure) return undefined;
    const pending = this.end - this.start;
    if (pending === 0) return undefined;
    const detail = this.pendingHeaders
      ? `stream ended inside a body (${pending} of ${this.pendingBodyLength} bytes)`
      : `stream ended inside a header block (${pending} bytes)`;
    this.failure = new EslProtocolError(detail, this.excerpt(this.start, 80));
    return this.failure;
  }

  private append(chunk: Uint8Array): void {
    const needed = this.end - this.start + chunk.length;
    if (this.end + chunk.length > this.buffer.length) {
      if (needed <= this.buffer.length) {
        this.buffer.copy(this.buffer, 0, this.start, this.end);
      } else {
        let capacity = this.buffer.length * 2;
        while (capacity < needed) capacity *= 2;
        const grown = Buffer.allocUnsafe(capacity);
        this.buffer.copy(grown, 0, this.start, this.end);
        this.buffer = grown;
      }
      this.scanFrom -= this.start;
      this.end -= this.start;
      this.start = 0;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Takes one message off the buffer if it is complete; false when more bytes are needed. */
  private extractOne(): boolean {
    if (this.pendingHeaders) return this.extractBody();
    // FreeSWITCH never sends blank lines between messages, but tolerating them costs nothing.
    while (this.start < this.end && this.buffer[this.start] === NEWLINE) this.start++;
    if (this.scanFrom < this.start) this.scanFrom = this.start;
    const blank = this.findBlankLine();
    if (blank < 0) {
      if (this.end - this.start > this.maxHeaderBytes) {
        this.fail(`header block longer than ${this.maxHeaderBytes} bytes without a blank line`, this.start);
      }
      return false;
    }
    const headers = this.parseHeaders(this.start, blank);
    if (!headers) return false;
    this.start = blank + 2;
    this.scanFrom = this.start;
    const contentLength = headers['Content-Length'];
    if (contentLength === undefined) {
      this.emit(headers, undefined);
      return true;
    }
    if (!CONTENT_LENGTH_PATTERN.test(contentLength)) {
      this.fail(`Content-Length is not a byte count: ${JSON.stringify(contentLength)}`, this.start);
      return false;
    }
    const length = Number(contentLength);
    if (length > this.maxBodyBytes) {
      this.fail(`Content-Length ${length} exceeds the ${this.maxBodyBytes}-byte limit`, this.start);
      return false;
    }
    this.pendingHeaders = headers;
    this.pendingBodyLength = length;
    return this.extractBody();
  }

  private extractBody(): boolean {
    const headers = this.pendingHeaders;
    if (!headers || this.end - this.start < this.pendingBodyLength) return false;
    const body = this.buffer.toString('utf8', this.start, this.start + this.pendingBodyLength);
    this.start += this.pendingBodyLength;
    this.scanFrom = this.start;
    this.pendingHeaders = undefined;
    this.pendingBodyLength = 0;
    this.emit(headers, body);
    return true;
  }

  private findBlankLine(): number {
    const from = Math.max(this.scanFrom, this.start);
    const at = this.buffer.indexOf('\n\n', from);
    if (at < 0 || at + 1 >= this.end) {
      // Resume one byte back next time: the first '\n' of the pair may be the last byte here.
      this.scanFrom = Math.max(this.start, this.end - 1);
      return -1;
    }
    return at;
  }

  private parseHeaders(from: number, to: number): Record<string, string> | undefined {
    const text = this.buffer.toString('utf8', from, to);
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const line of text.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        this.fail('header line without "name: value"', from);
        return undefined;
      }
      const name = line.slice(0, colon);
      // Values keep everything after the first ": " (Reply-Text "+OK Job-UUID: ..." holds colons too).
      const value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
      headers[name] = value;
    }
    if (headers['Content-Type'] === undefined) {
      this.fail('message without Content-Type', from);
      return undefined;
    }
    return headers;
  }

  private emit(headers: Record<string, string>, body: string | undefined): void {
    this.onMessage({ headers, contentType: headers['Content-Type'] ?? '', body });
  }

  private fail(message: string, at: number): void {
    this.failure = new EslProtocolError(message, this.excerpt(at, 80));
    this.start = this.end;
    this.onError(this.failure);
  }

  private excerpt(at: number, length: number): string {
    return this.buffer.toString('utf8', at, Math.min(this.end, at + length));
  }
}
