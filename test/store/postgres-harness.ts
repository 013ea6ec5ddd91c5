import { createServer, Socket, type Server } from 'node:net';
import pg from 'pg';

/**
 * A real PostgreSQL for the store tests: `.ci/run` starts one from Debian's package and sets
 * TEST_POSTGRES_URL (a superuser URL); each test gets a database of its own.
 */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL;

let counter = 0;

/** Creates an empty database and returns its URL. */
export async function freshDatabase(): Promise<string> {
  if (!POSTGRES_URL) throw new Error('TEST_POSTGRES_URL is not set');
  const name = `cp_test_${process.pid}_${Date.now()}_${++counter}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops every database the tests of this process made. */
export async function dropTestDatabases(): Promise<void> {
  if (!POSTGRES_URL) return;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`cp_test_${process.pid}_%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * A TCP relay in front of PostgreSQL that can cut the database off (an outage as a node sees it: open connections
 * reset, new ones refused) and bring it back, without touching the server other tests use.
 */
export class OutageProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private down = false;
  /** A statement whose arrival cuts the database off before the server sees it (`cutAt`). */
  private cutBefore?: string;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.down) return void client.destroy();
      const upstream = new Socket();
      upstream.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => {
        if (this.cutBefore && chunk.includes(this.cutBefore)) {
          this.cutBefore = undefined;
          return this.cut();
        }
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on('drain', () => client.resume());
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
  }

  /** The URL `url` with its host and port replaced by the relay's. */
  through(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  /**
   * Cuts the database off when a client next sends `statement` (its text), before the server gets it: a connection
   * lost in the middle of whatever that statement belongs to, such as a transaction.
   */
  cutAt(statement: string): void {
    this.cutBefore = statement;
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}
