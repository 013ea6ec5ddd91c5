import type { Server } from 'node:http';
import type { PreboundServer } from '../api/index.ts';

export class PortInUseError extends Error {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, code: string);
}

export interface EarlyListener extends PreboundServer {
  readonly server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** The address as requested (before resolution), to compare with the loaded config. */
  readonly host: string;
  readonly port: number;
  /** What /readyz says until the full server takes over ("loading modules", "opening the store", ...). */
  setStage(stage: string): void;
  /** Closes the socket if the full server never took it over (start failed). Idempotent. */
  close(): Promise<void>;
}

/** What bin/callpilot.js bound (or failed to bind) before tsx loaded. */
export type EarlyBind = { host: string; port: number } & ({ listener: EarlyListener; error?: undefined } | { listener?: undefined; error: Error });

export function listenEarly(host: string, port: number): Promise<EarlyListener>;
export function guessListenAddress(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ host: string; port: number } | undefined>;
export function bindEarly(args: string[]): Promise<EarlyBind | undefined>;
