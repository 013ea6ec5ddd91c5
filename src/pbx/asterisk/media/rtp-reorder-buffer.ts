/** Sequence jumps beyond this (1 s of 20 ms packets) restart the stream instead of counting loss. */
const RESYNC_GAP = 50;

/**
 * Puts RTP payloads back in sequence order on a UDP path that may reorder, lose or duplicate.
 * Packets wait at most `depth` slots for a late predecessor; a gap still open after that is a
 * loss and is reported as such, so the caller can conceal it and keep the 20 ms clock.
 */
export class RtpReorderBuffer {
  private readonly slots: Array<Buffer | undefined>;
  private readonly lengths: Int32Array;
  /** The sequence last released from each slot (-1: none, or given up as lost), to tell a repeat from a late packet. */
  private readonly released: Int32Array;
  private expected = -1;
  private held = 0;
  duplicates = 0;
  late = 0;
  lost = 0;

  constructor(
    private readonly depth: number,
    private readonly payloadBytes: number,
  ) {
    // Slots indexed by seq modulo a power of two, so the mapping stays unique across the
    // 65535 -> 0 wrap; buffers are reused for the life of the stream.
    const size = 1 << Math.ceil(Math.log2(depth + 1));
    this.slots = Array.from({ length: size }, () => undefined);
    this.lengths = new Int32Array(size).fill(-1);
    this.released = new Int32Array(size).fill(-1);
  }

  /**
   * Add one packet's payload. `emit` is called, in order, with each payload now due, or with
   * `undefined` for a lost packet.
   */
  push(sequence: number, payload: Uint8Array, emit: (payload: Uint8Array | undefined) => void): void {
    if (this.expected < 0) this.expected = sequence;
    const ahead = (sequence - this.expected) & 0xffff;
    if (ahead >= 0x8000) {
      // Behind the window: a copy of a packet already played is a duplicate (the network repeated it); anything
      // else came after its slot was concealed or played, which is lateness, a different fault to report.
      if (this.released[sequence % this.slots.length] === sequence) this.duplicates++;
      else this.late++;
      return;
    }
    if (ahead > RESYNC_GAP) {
      // A jump this big is a new stream (or a long outage), not loss to conceal packet by packet.
      this.drainHeld(emit);
      this.expected = sequence;
    } else if (ahead > this.depth) {
      // Everything still missing before it is now lost; release what we hold in order.
      while (((sequence - this.expected) & 0xffff) > this.depth) this.release(emit, true);
    }
    const slot = sequence % this.slots.length;
    if (this.lengths[slot] >= 0) {
      this.duplicates++;
      return;
    }
    let buf = this.slots[slot];
    if (!buf || buf.length < payload.length) buf = Buffer.alloc(Math.max(payload.length, this.payloadBytes));
    buf.set(payload);
    this.slots[slot] = buf;
    this.lengths[slot] = payload.length;
    this.held++;
    // Release everything contiguous from the expected sequence.
    while (this.held > 0 && this.lengths[this.expected % this.slots.length] >= 0) {
      this.release(emit, false);
    }
  }

  private drainHeld(emit: (payload: Uint8Array | undefined) => void): void {
    for (let n = 0; this.held > 0 && n < this.slots.length; n++) {
      const slot = this.expected % this.slots.length;
      if (this.lengths[slot] >= 0) this.release(emit, false);
      else this.expected = (this.expected + 1) & 0xffff;
    }
  }

  private release(emit: (payload: Uint8Array | undefined) => void, allowLoss: boolean): void {
    const slot = this.expected % this.slots.length;
    const buf = this.slots[slot];
    const length = this.lengths[slot];
    if (buf && length >= 0) {
      this.lengths[slot] = -1;
      this.released[slot] = this.expected;
      this.held--;
      emit(buf.subarray(0, length));
    } else if (allowLoss) {
      this.released[slot] = -1;
      this.lost++;
      emit(undefined);
    } else {
      return;
    }
    this.expected = (this.expected + 1) & 0xffff;
  }
}
