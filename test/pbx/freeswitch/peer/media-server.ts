import { type Server, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketDispatcher } from '../../../../src/api/websocket-dispatch.ts';
import { MediaTokens } from '../../../../src/auth/index.ts';
import type { WebSocketRoute } from '../../../../src/media/index.ts';
import { testLog } from '../../../support/run-log.ts';

const TRUSTED_PBX = {
  checkUpgrade: async () => ({ ok: true as const, principal: { tokenId: 'test', name: 'test-pbx', role: 'pbx' as const, grants: [], via: 'bearer' as const } }),
  mediaTokens: new MediaTokens(),
};

/**
 * Stands in for callpilot's HTTP server in tests, upgrading through the server's own dispatcher, so
 * a route's path and subprotocols (mod_audio_fork's audio.drachtio.org) are matched as in production.
 */
export class TestMediaServer {
  private readonly http: Server;
  private dispatcher: WebSocketDispatcher | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** Set once the adapter exists (it needs this server's port for its mediaUrl). */
  routes: WebSocketRoute[] = [];

  constructor() {
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.http.on('upgrade', (req, socket, head) => {
      // Created on first use: the routes are only known once the adapter exists.
      // Authorization is the HTTP server's business (test/api); here every upgrade counts as the PBX's.
      this.dispatcher ??= new WebSocketDispatcher(this.routes, testLog(), TRUSTED_PBX);
      this.dispatcher.handleUpgrade(req, socket, head);
    });
  }

  /** The TCP connections open on this server (to cut them from our side). */
  openSockets(): Socket[] {
    return [...this.sockets];
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.http.listen(port, '127.0.0.1', resolve));
    const address = this.http.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    return this.port;
  }

  async close(): Promise<void> {
    this.dispatcher?.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
