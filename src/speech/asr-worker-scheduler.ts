/**
 * The ASR worker's order of work, apart from its thread so it can be driven message by message. A final is what a
 * caller waits for (the bot answers after it); partials only make the end of a turn come sooner. So a `finalize` is
 * decoded and answered the moment it is handled, and partials are decoded in passes of one model chunk per stream:
 * the worker runs one pass, lets the messages that came meanwhile (a final) be handled, then runs the next. A final
 * therefore waits for at most one pass over the calls' ready chunks, never for a whole backlog of other calls'
 * partials; and the backlog is still decoded in batches as large as there are calls with audio.
 */
import type { AsrBatchDecoder, AsrPartial } from './asr-batch-decoder.ts';
import type { AsrReply, AsrRequest } from './asr-protocol.ts';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class AsrWorkerScheduler {
  /** The newest audio batch accepted: once no stream has a full chunk left, everything up to it is decoded. */
  private acceptedBatch = 0;
  private pendingPasses = false;

  constructor(
    private readonly decoder: AsrBatchDecoder,
    private readonly reply: (reply: AsrReply) => void,
  ) {}

  /** Whether partials wait to be decoded (the worker then schedules `decodePass`). */
  get decoding(): boolean {
    return this.pendingPasses;
  }

  /** Handles one message from the main thread; a `finalize` is decoded and answered now. */
  handle(req: AsrRequest): void {
    try {
      switch (req.kind) {
        case 'open':
          this.decoder.open(req.id);
          break;
        case 'close':
          this.decoder.close(req.id);
          break;
        case 'audio':
          for (const c of req.chunks) this.decoder.accept(c.id, c.samples, c.atMs);
          this.acceptedBatch = req.batch;
          this.pendingPasses = true;
          break;
        case 'finalize': {
          if (req.chunk) this.decoder.accept(req.chunk.id, req.chunk.samples, req.chunk.atMs);
          const { text, confidence, cost } = this.decoder.finalize(req.id, req.paddingMs);
          this.reply({ kind: 'final', seq: req.seq, id: req.id, text, confidence, cost });
          break;
        }
      }
    } catch (err) {
      this.reply({ kind: 'error', seq: req.kind === 'finalize' ? req.seq : undefined, message: message(err) });
    }
  }

  /** One pass of partial decoding and its reply; returns whether another pass is needed. */
  decodePass(): boolean {
    try {
      const partials: AsrPartial[] = [];
      const { cost, more } = this.decoder.decodePass(partials);
      this.pendingPasses = more;
      this.reply(more ? { kind: 'partials', partials, cost } : { kind: 'partials', partials, cost, decodedBatch: this.acceptedBatch });
    } catch (err) {
      this.pendingPasses = false;
      this.reply({ kind: 'error', message: message(err) });
    }
    return this.pendingPasses;
  }
}
