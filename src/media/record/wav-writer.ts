import { closeSync, openSync, write, writeSync } from 'node:fs';

const HEADER_BYTES = 44;
const RIFF_SIZE_OFFSET = 4;
const DATA_SIZE_OFFSET = 40;

export interface WavWriterOptions {
  /** Audio buffered before it is written and the header sizes are patched. Default 1000 ms. */
  flushEveryMs?: number;
}

export interface WavFileSummary {
  path: string;
  sampleRate: number;
  samples: number;
  durationMs: number;
}

function writeAt(fd: number, buffer: Buffer, length: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    write(fd, buffer, 0, length, position, (err) => (err ? reject(err) : resolve()));
  });
}

function wavHeader(sampleRate: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, RIFF_SIZE_OFFSET);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, DATA_SIZE_OFFSET);
  return header;
}

/**
 * Streaming PCM16 mono WAV file. Hand-written because WAV libraries (wavefile, node-wav) build the
 * whole file in memory, which a long call cannot afford. The header goes out first with zero
 * sizes; audio is appended about once a second and the sizes are patched after every append, so
 * a crash leaves a playable file missing at most the last `flushEveryMs` of audio.
 */
export class WavWriter {
  private readonly fd: number;
  private readonly flushBytes: number;
  private staging: Buffer;
  private stagingLength = 0;
  /** Buffers whose write has finished, kept for reuse so steady state does not allocate. */
  private readonly spare: Buffer[] = [];
  private dataBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closing: Promise<WavFileSummary> | undefined;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
    opts: WavWriterOptions = {},
  ) {
    this.flushBytes = Math.max(2, Math.round(((opts.flushEveryMs ?? 1000) * sampleRate) / 1000) * 2);
    this.staging = Buffer.allocUnsafe(this.flushBytes);
    // Synchronous open so a bad path fails at attach time, where the caller can see it.
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(sampleRate, 0), 0, HEADER_BYTES, 0);
  }

  /** Samples accepted so far (written or buffered). */
  get samples(): number {
    return (this.dataBytes + this.stagingLength) / 2;
  }

  /** Append PCM16 samples. The data is copied; `pcm` may be reused at once. */
  write(pcm: Int16Array): void {
    if (this.closing || this.failure) return;
    let staging = this.staging;
    let offset = this.stagingLength;
    for (let i = 0; i < pcm.length; i++) {
      if (offset === staging.length) {
        this.stagingLength = offset;
        this.flushStaging();
        staging = this.staging;
        offset = 0;
      }
      staging.writeInt16LE(pcm[i], offset);
      offset += 2;
    }
    this.stagingLength = offset;
    if (offset === staging.length) this.flushStaging();
  }

  /** Write what is buffered, patch the header and close. Idempotent. Rejects if any write failed. */
  close(): Promise<WavFileSummary> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<WavFileSummary> {
    if (this.stagingLength > 0) this.flushStaging();
    try {
      await this.writing;
    } finally {
      closeSync(this.fd);
    }
    if (this.failure) throw this.failure;
    const samples = this.dataBytes / 2;
    return { path: this.path, sampleRate: this.sampleRate, samples, durationMs: (samples * 1000) / this.sampleRate };
  }

  private flushStaging(): void {
    const buffer = this.staging;
    const length = this.stagingLength;
    const position = HEADER_BYTES + this.dataBytes;
    this.dataBytes += length;
    const dataBytes = this.dataBytes;
    this.staging = this.spare.pop() ?? Buffer.allocUnsafe(this.flushBytes);
    this.stagingLength = 0;
    this.writing = this.writing.then(async () => {
      if (this.failure) return;
      try {
        await writeAt(this.fd, buffer, length, position);
        await this.patchSizes(dataBytes);
      } catch (err) {
        this.failure = new Error(`writing ${this.path} failed: ${(err as Error).message}`, { cause: err });
      } finally {
        this.spare.push(buffer);
      }
    });
  }

  private async patchSizes(dataBytes: number): Promise<void> {
    const sizes = Buffer.allocUnsafe(4);
    sizes.writeUInt32LE(36 + dataBytes, 0);
    await writeAt(this.fd, sizes, 4, RIFF_SIZE_OFFSET);
    const dataSize = Buffer.allocUnsafe(4);
    dataSize.writeUInt32LE(dataBytes, 0);
    await writeAt(this.fd, dataSize, 4, DATA_SIZE_OFFSET);
  }
}
