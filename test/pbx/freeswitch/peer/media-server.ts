import { type Server, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocketRoute } from '../../../../src/media/index.ts';

/** Stands in for callpilot's HTTP server in tests: dispatches upgrades to routes by longest path prefix. */
export class TestMediaServer {
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
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
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const route = [...this.routes].sort((a, b) => b.path.length - a.path.length).find((r) => path.startsWith(r.path));
      if (!route) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => route.handle(ws, req));
    });
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
    for (const client of this.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
