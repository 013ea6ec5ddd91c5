import net from 'node:net';
import type { Logger } from 'pino';
import { AudioSocketKind, uuidFromBytes } from './audiosocket-frame-parser.ts';

/** Someone waiting for Asterisk to dial in with this UUID. */
export type AudioSocketClaim = (socket: net.Socket, rest: Buffer) => void;

/** Give up on a connection that never says who it is. */
const UUID_TIMEOUT_MS = 5000;
/** kind 0x01, length 16, 16 raw UUID bytes. */
const UUID_MESSAGE_BYTES = 19;

/**
 * The TCP server Asterisk's AudioSocket channels dial (externalMedia external_host). Each
 * connection starts with kind 0x01 carrying the UUID we passed as `data`; it is handed to the
 * leg that registered that UUID.
 */
export class AudioSocketServer {
  private readonly server = net.createServer((s) => this.onConnection(s));
  private readonly claims = new Map<string, AudioSocketClaim>();
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly log: Logger) {}

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
    const timer = setTimeout(() => {
      this.log.warn({ remote: socket.remoteAddress }, 'AudioSocket connection sent no UUID; closing');
      socket.destroy();
    }, UUID_TIMEOUT_MS);
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length > 0 ? Buffer.concat([head, chunk]) : chunk;
      if (head.length < UUID_MESSAGE_BYTES) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (head[0] !== AudioSocketKind.Uuid || head.readUInt16BE(1) !== 16) {
        this.log.warn({ kind: head[0] }, 'AudioSocket connection did not start with a UUID message; closing');
        socket.destroy();
        return;
      }
      const uuid = uuidFromBytes(head.subarray(3, UUID_MESSAGE_BYTES));
      const claim = this.claims.get(uuid);
      if (!claim) {
        this.log.warn({ uuid }, 'AudioSocket connection for an unknown call; closing');
        socket.destroy();
        return;
      }
      this.claims.delete(uuid);
      // Bytes after the UUID message (first audio may share the TCP read) belong to the leg.
      claim(socket, Buffer.from(head.subarray(UUID_MESSAGE_BYTES)));
    };
    socket.on('data', onData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'AudioSocket socket error'));
  }
}
