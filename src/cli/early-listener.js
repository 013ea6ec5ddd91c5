// Plain JavaScript on purpose: bin/callpilot.js loads this before tsx, so `callpilot start` binds its port and answers
// /healthz after Node's own start-up, not after the TypeScript module graph (seconds of CPU on a busy machine).
// Types: early-listener.d.ts.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';

export class PortInUseError extends Error {
  /** @param {string} host @param {number} port @param {string} code */
  constructor(host, port, code) {
    super(
      `cannot listen on ${host}:${port} (${code}): ${code === 'EADDRINUSE' ? 'another process uses that port' : 'not allowed'}. ` +
        'Stop it, or choose another port: --config with server.port, or CALLPILOT_SERVER_PORT=9000',
    );
    this.name = 'PortInUseError';
    this.host = host;
    this.port = port;
  }
}

/**
 * Binds host:port with plain node:http. Until `handOver`, it answers /healthz 200 and /readyz 503 with the start
 * stage, and everything else (upgrades included) 503 with Retry-After. The full server later takes the same socket
 * over, so the port never closes between the two. Binding is the port check: a taken port fails in milliseconds.
 * @param {string} host @param {number} port
 */
export async function listenEarly(host, port) {
  const startedAt = Date.now();
  let stage = 'loading modules';
  /** @type {import('node:http').RequestListener} */
  const early = (req, res) => answerEarly(req, res, stage, startedAt);
  /** @param {import('node:http').IncomingMessage} _req @param {import('node:stream').Duplex} socket */
  const refuseUpgrade = (_req, socket) => {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n');
  };
  const server = createServer(early);
  // Same idle keep-alive as fastify's own servers, so pooled proxy connections behave the same after the take-over.
  server.keepAliveTimeout = 72_000;
  server.on('upgrade', refuseUpgrade);
  await new Promise((resolveListen, reject) => {
    /** @param {NodeJS.ErrnoException} err */
    const onError = (err) => reject(new PortInUseError(host, port, err.code ?? err.message));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolveListen(undefined);
    });
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let handedOver = false;
  /** @type {Promise<void> | undefined} */
  let closed;
  return {
    server,
    url,
    host,
    port,
    /** @param {string} s */
    setStage: (s) => void (stage = s),
    /** @param {import('node:http').RequestListener} handler */
    handOver(handler) {
      if (handedOver) throw new Error('the early listener was already handed over');
      handedOver = true;
      server.off('request', early);
      server.off('upgrade', refuseUpgrade);
      server.on('request', handler);
    },
    close: () =>
      (closed ??= handedOver
        ? Promise.resolve()
        : new Promise((resolveClose) => {
            server.closeAllConnections();
            server.close(() => resolveClose());
          })),
  };
}

/**
 * @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res
 * @param {string} stage @param {number} startedAt
 */
function answerEarly(req, res, stage, startedAt) {
  const path = (req.url ?? '/').split('?')[0];
  /** @param {number} status @param {unknown} body */
  const send = (status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...(status === 503 ? { 'Retry-After': '2' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  const starting = { error: `starting (${stage}); retry when /readyz is ready`, statusCode: 503 };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(503, starting);
  // Same shapes as the full server's routes: probes and the console need not know which one answered.
  if (path === '/healthz') return send(200, { ok: true, uptimeSec: Math.round(process.uptime()) });
  if (path === '/readyz') {
    return send(503, {
      ready: false,
      checks: {
        startup: { ok: false, detail: `${stage} (${((Date.now() - startedAt) / 1000).toFixed(1)} s since the port was bound)` },
        speech: { ok: false, detail: 'loading: not started yet' },
      },
    });
  }
  send(503, starting);
}

/**
 * server.host and server.port the config loader will settle on, read cheaply (no schema) for the early bind: --config,
 * else $CALLPILOT_CONFIG, else configs/callpilot.yaml; CALLPILOT_SERVER_HOST / _PORT override. Undefined when it
 * cannot tell (a parse problem, --help): the full loader then reports properly, and `callpilot start` compares its
 * result with this guess anyway before using the bound socket.
 * @param {string[]} args arguments after `start` @param {NodeJS.ProcessEnv} env @param {string} cwd
 * @returns {Promise<{ host: string, port: number } | undefined>}
 */
export async function guessListenAddress(args, env, cwd) {
  let configPath;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') return undefined;
    if (a === '--config') configPath = args[++i];
    else if (a.startsWith('--config=')) configPath = a.slice('--config='.length);
    else return undefined;
  }
  configPath ||= env.CALLPILOT_CONFIG || undefined;
  const file = configPath ? resolve(cwd, configPath) : resolve(cwd, 'configs/callpilot.yaml');
  let host = '127.0.0.1';
  let port = 8080;
  try {
    if (existsSync(file)) {
      const { parse } = await import('yaml');
      const server = parse(readFileSync(file, 'utf8'))?.server;
      if (server?.host !== undefined) host = server.host;
      if (server?.port !== undefined) port = server.port;
    } else if (configPath) return undefined;
  } catch {
    return undefined;
  }
  if (env.CALLPILOT_SERVER_HOST) host = env.CALLPILOT_SERVER_HOST;
  if (env.CALLPILOT_SERVER_PORT) port = Number(env.CALLPILOT_SERVER_PORT);
  if (typeof host !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host, port };
}

/**
 * For bin/callpilot.js: binds the guessed address of `callpilot start` before tsx loads. Never throws: a failed
 * bind is handed on, and `start` reports it only once the real config confirms the address.
 * @param {string[]} args @returns {Promise<import('./early-listener.js').EarlyBind | undefined>}
 */
export async function bindEarly(args) {
  const address = await guessListenAddress(args, process.env, process.cwd());
  if (!address || address.port === 0) return undefined;
  try {
    return { ...address, listener: await listenEarly(address.host, address.port) };
  } catch (error) {
    return { ...address, error: /** @type {Error} */ (error) };
  }
}
