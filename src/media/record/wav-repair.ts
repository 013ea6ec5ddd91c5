import { open } from 'node:fs/promises';

const HEADER_BYTES = 44;

export interface WavRepair {
  path: string;
  /** What was wrong, when something was: the header sizes disagreed with the file, or the header was cut. */
  fixed?: 'sizes' | 'header';
  dataBytes: number;
}

/**
 * Makes a WAV written by WavWriter consistent with its length after a crash: the writer appends audio, then patches
 * the RIFF and data sizes, so a kill between the two leaves sizes that undercount the file. The sizes are set from
 * the file's length (an odd trailing byte of a half-written sample is cut); a file killed before its header was
 * complete gets a fresh empty header. Files that are not PCM WAVs of ours are left alone.
 */
export async function repairWavFile(path: string, sampleRate: number = 8000): Promise<WavRepair> {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
    const ours = bytesRead === HEADER_BYTES && header.toString('ascii', 0, 4) === 'RIFF' && header.toString('ascii', 8, 12) === 'WAVE' && header.toString('ascii', 36, 40) === 'data';
    if (!ours) {
      if (size >= HEADER_BYTES) return { path, dataBytes: Math.max(0, size - HEADER_BYTES) };
      // Killed before the header was written whole: an empty but valid file.
      await file.truncate(0);
      await file.write(emptyHeader(sampleRate), 0, HEADER_BYTES, 0);
      return { path, fixed: 'header', dataBytes: 0 };
    }
    let dataBytes = size - HEADER_BYTES;
    if (dataBytes % 2 === 1) {
      dataBytes -= 1;
      await file.truncate(HEADER_BYTES + dataBytes);
    }
    if (header.readUInt32LE(4) === 36 + dataBytes && header.readUInt32LE(40) === dataBytes && size === HEADER_BYTES + dataBytes) return { path, dataBytes };
    const sizes = Buffer.alloc(4);
    sizes.writeUInt32LE(36 + dataBytes, 0);
    await file.write(sizes, 0, 4, 4);
    sizes.writeUInt32LE(dataBytes, 0);
    await file.write(sizes, 0, 4, 40);
    await file.sync();
    return { path, fixed: 'sizes', dataBytes };
  } finally {
    await file.close();
  }
}

/** True when the header's sizes match the file's length (what a player and the API rely on). */
export async function wavHeaderConsistent(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES || header.toString('ascii', 0, 4) !== 'RIFF') return false;
    return header.readUInt32LE(4) === size - 8 && header.readUInt32LE(40) === size - HEADER_BYTES;
  } finally {
    await file.close();
  }
}

function emptyHeader(sampleRate: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(0, 40);
  return h;
}
