/** Receives each complete frame; the bytes are only valid until the callback returns. */
export type FrameCallback = (frame: Uint8Array) => void;

/**
 * Cuts a byte stream (TCP reads, bursty WebSocket messages) into frames of exactly `frameBytes`.
 * Aligned data is handed out as views of the incoming chunk; only a frame that straddles two
 * chunks is copied, into one buffer reused for the life of the assembler.
 */
export class FrameAssembler {
  private readonly partial: Buffer;
  private partialLength = 0;

  constructor(readonly frameBytes: number) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) {
      throw new RangeError(`frame size must be a positive integer, got ${frameBytes}`);
    }
    this.partial = Buffer.alloc(frameBytes);
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.partialLength;
  }

  /** Feed a chunk; calls `onFrame` once per completed frame, in order. Returns the number of frames. */
  push(chunk: Uint8Array, onFrame: FrameCallback): number {
    const size = this.frameBytes;
    let offset = 0;
    let frames = 0;
    if (this.partialLength > 0) {
      const take = Math.min(size - this.partialLength, chunk.length);
      this.partial.set(chunk.subarray(0, take), this.partialLength);
      this.partialLength += take;
      offset = take;
      if (this.partialLength < size) return 0;
      this.partialLength = 0;
      onFrame(this.partial);
      frames++;
    }
    while (chunk.length - offset >= size) {
      onFrame(chunk.subarray(offset, offset + size));
      offset += size;
      frames++;
    }
    if (offset < chunk.length) {
      this.partial.set(chunk.subarray(offset), 0);
      this.partialLength = chunk.length - offset;
    }
    return frames;
  }

  /** Drop any partial frame (e.g. when the stream restarts). */
  reset(): void {
    this.partialLength = 0;
  }
}
