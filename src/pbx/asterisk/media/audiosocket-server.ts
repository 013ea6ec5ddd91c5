import net from 'node:net';
import type { Logger } from 'pino';
import { WarnLimiter } from '../../../core/index.ts';
import type { MediaRejectReason } from '../../types.ts';
import { AudioSocketKind, uuidFromBytes } from './audiosocket-frame-parser.ts';

/** Someone waiting for Asterisk to dial in with this UUID. */
export type AudioSocketClaim = (socket: net.Socket, rest: Buffer) => void;

/** Give up on a connection that never says who it is. */
const UUID_TIMEOUT_MS = 5000;
/** kind 0x01, length 16, 16 raw UUID bytes. */
const UUID_MESSAGE_BYTES = 19;
/** Rejections logged one by one before only a summary line every REJECT_SUMMARY_MS. */
const REJECTS_LOGGED_FREELY = 5;
const REJECT_SUMMARY_MS = 10_000;

/**
 * The TCP server Asterisk's AudioSocket channels dial (externalMedia external_host). Each
 * connection starts with kind 0x01 carrying the UUID we passed as `data`; it is handed to the
 * leg that registered that UUID.
 *
 * The UUID is the connection's credential: a random v4 callpilot generated for one externalMedia request and
 * accepts once, only until that request succeeded or failed. Anything else (no UUID in time, another message
 * first, a UUID nobody expects now) is closed at once, counted through `rejected`, and logged at a bounded rate.
 */
export class AudioSocketServer {
  private readonly server = net.createServer((s) => this.onConnection(s));
  private readonly claims = new Map<string, AudioSocketClaim>();
  private readonly sockets = new Set<net.Socket>();
  private readonly warnings: WarnLimiter;

  constructor(
    private readonly log: Logger,
    private readonly rejected: (reason: MediaRejectReason) => void = () => undefined,
  ) {
    this.warnings = new WarnLimiter(log, { freely: REJECTS_LOGGED_FREELY, intervalMs: REJECT_SUMMARY_MS });
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  expect(uuid: string, claim: AudioSocketClaim): void {
    this.claims.set(uuid.toLowerCase(), claim);
  }

  cancel(uuid: string): void {
    this.claims.delete(uuid.toLowerCase());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const timer = setTimeout(() => this.reject(socket, 'no_uuid', 'AudioSocket connection sent no UUID; closing'), UUID_TIMEOUT_MS);
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length > 0 ? Buffer.concat([head, chunk]) : chunk;
      if (head.length < UUID_MESSAGE_BYTES) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (head[0] !== AudioSocketKind.Uuid || head.readUInt16BE(1) !== 16) {
        this.reject(socket, 'bad_start', 'AudioSocket connection did not start with a UUID message; closing', { kind: head[0] });
        return;
      }
      const uuid = uuidFromBytes(head.subarray(3, UUID_MESSAGE_BYTES));
      const claim = this.claims.get(uuid);
      if (!claim) {
        this.reject(socket, 'unknown_uuid', 'AudioSocket connection for a UUID callpilot is not waiting for (unknown, used or expired); closing');
        return;
      }
      this.claims.delete(uuid);
      // Bytes after the UUID message (first audio may share the TCP read) belong to the leg.
      claim(socket, Buffer.from(head.subarray(UUID_MESSAGE_BYTES)));
    };
    socket.on('data', onData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'AudioSocket socket error'));
  }

  private reject(socket: net.Socket, reason: MediaRejectReason, msg: string, fields: Record<string, unknown> = {}): void {
    socket.destroy();
    this.rejected(reason);
    this.warnings.warn({ ...fields, reason, remote: socket.remoteAddress }, msg);
  }
}
