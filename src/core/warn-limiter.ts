import type { Logger } from 'pino';

/**
 * Logs the first `freely` warnings one by one, then at most one summary line per `intervalMs` carrying how many
 * were suppressed since the last line: a peer (or an attacker) sending thousands of bad messages cannot flood the
 * logs, and the lines that are written still say how much was going on.
 */
export class WarnLimiter {
  private logged = 0;
  private suppressed = 0;
  private lastSummary = 0;

  constructor(
    private readonly log: Logger,
    private readonly opts: { freely: number; intervalMs: number; now?: () => number },
  ) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    const now = (this.opts.now ?? Date.now)();
    if (this.logged < this.opts.freely) {
      this.logged++;
      this.log.warn(fields, msg);
    } else if (now - this.lastSummary >= this.opts.intervalMs) {
      this.log.warn({ ...fields, suppressed: this.suppressed }, `${msg} (earlier ones suppressed)`);
      this.lastSummary = now;
      this.suppressed = 0;
    } else this.suppressed++;
  }
}
