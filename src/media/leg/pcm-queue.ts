/**
 * FIFO of PCM16 samples in a ring buffer that grows by doubling (up to `maxSamples`) and never
 * shrinks, so a leg that has warmed up queues and dequeues bot audio without allocating.
 */
export class PcmQueue {
  private ring: Int16Array;
  private head = 0;
  private size = 0;

  constructor(
    initialSamples: number,
    private readonly maxSamples: number,
  ) {
    this.ring = new Int16Array(Math.max(1, Math.min(initialSamples, maxSamples)));
  }

  get length(): number {
    return this.size;
  }

  get free(): number {
    return this.maxSamples - this.size;
  }

  /** Appends as much of `pcm` as fits under the cap; returns how many samples were taken. */
  write(pcm: Int16Array): number {
    const count = Math.min(pcm.length, this.free);
    if (count === 0) return 0;
    this.reserve(this.size + count);
    const ring = this.ring;
    const capacity = ring.length;
    // Element loops instead of set(subarray(...)): a 20 ms frame is a few hundred samples and the
    // loop avoids allocating view objects on every frame.
    let index = (this.head + this.size) % capacity;
    for (let i = 0; i < count; i++) {
      ring[index] = pcm[i];
      if (++index === capacity) index = 0;
    }
    this.size += count;
    return count;
  }

  /** Moves up to `out.length` samples into `out`; returns how many. */
  read(out: Int16Array): number {
    const count = Math.min(out.length, this.size);
    const ring = this.ring;
    const capacity = ring.length;
    let index = this.head;
    for (let i = 0; i < count; i++) {
      out[i] = ring[index];
      if (++index === capacity) index = 0;
    }
    this.head = index;
    this.size -= count;
    return count;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }

  private reserve(needed: number): void {
    if (needed <= this.ring.length) return;
    let capacity = this.ring.length;
    while (capacity < needed) capacity *= 2;
    capacity = Math.min(capacity, this.maxSamples);
    const grown = new Int16Array(capacity);
    const first = Math.min(this.size, this.ring.length - this.head);
    grown.set(this.ring.subarray(this.head, this.head + first), 0);
    if (first < this.size) grown.set(this.ring.subarray(0, this.size - first), first);
    this.ring = grown;
    this.head = 0;
  }
}
