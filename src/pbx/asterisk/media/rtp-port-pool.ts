/** Hands out even UDP ports from a range (RTP convention; odd ones are left for RTCP). */
export class RtpPortPool {
  private readonly free: number[] = [];
  private readonly used = new Set<number>();

  constructor(first: number, last: number) {
    for (let p = first + (first % 2); p <= last; p += 2) this.free.push(p);
  }

  /** A port not currently handed out; 0 (any port) when the range is exhausted or empty. */
  take(): number {
    const port = this.free.shift();
    if (port === undefined) return 0;
    this.used.add(port);
    return port;
  }

  release(port: number): void {
    if (!this.used.delete(port)) return;
    this.free.push(port);
  }
}
