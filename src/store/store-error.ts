/** A store operation was refused (malformed record, unknown call, duplicate turn) or the database failed. */
export class StoreError extends Error {
  constructor(
    message: string,
    /** Operation that failed, e.g. `addTurn`. */
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
    this.name = 'StoreError';
  }
}
