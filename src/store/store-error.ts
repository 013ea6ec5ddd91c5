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

/** A list query the store cannot run as asked (a cursor it did not hand out, a malformed bound): the caller's mistake. */
export class StoreQueryError extends StoreError {
  constructor(
    message: string,
    operation: string,
    /** The query field that was wrong. */
    readonly field: string,
  ) {
    super(message, operation);
    this.name = 'StoreQueryError';
  }
}
