import http from 'node:http';
import { WebSocketServer } from 'ws';
import type { WebSocketRoute } from '../../../src/media/index.ts';

/** A bare HTTP server that mounts WebSocket routes like callpilot's server does (path prefix + subprotocol). */
export async function serveRoutes(routes: WebSocketRoute[]): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('media') ? 'media' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes.filter((r) => path.startsWith(r.path)).sort((a, b) => b.path.length - a.path.length)[0];
    if (!route) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => route.handle(ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
