/** Shared by the end-to-end tests: where the repo and the shared models are, free ports, polling, test WAVs. */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));

/** A TCP port free on 127.0.0.1 right now (for servers that must know their port before they listen). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { until } from './wait.ts';

/** One of the tiny model's held-out test utterances (8 kHz mono PCM16), as a caller says it. */
export function readTestWav(file: string): Int16Array {
  const wav = readFileSync(join(MODELS, 'callpilot-tiny-zh-en/test_wavs', file));
  let at = 12;
  while (at + 8 <= wav.length && wav.toString('ascii', at, at + 4) !== 'data') at += 8 + wav.readUInt32LE(at + 4);
  const bytes = wav.subarray(at + 8, at + 8 + wav.readUInt32LE(at + 4));
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
  return pcm;
}
