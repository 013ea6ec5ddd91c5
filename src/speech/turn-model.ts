/**
 * The optional audio end-of-turn model slot (`speech.endpoint.turnModel.path`): an ONNX file following Smart Turn's
 * contract (the last 8 s of 16 kHz mono audio as Whisper log-mel features [1, 80, 800] -> probability that the turn
 * is complete). The endpointer already takes such a probability as a cue (end-of-turn.ts, `modelCompleteProbability`).
 * Running the file needs a general ONNX runtime, which this build does not bundle (sherpa-onnx runs only its own
 * model families): a configured model is refused at start with a clear error rather than silently ignored.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export class TurnModelError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'TurnModelError';
  }
}

/** Smart Turn's input: 8 s at 16 kHz. */
export const TURN_MODEL_INPUT_SAMPLES = 8 * 16000;

/** Checks the configured turn model at start-up; returns undefined when none is configured (the default). */
export function checkTurnModel(path: string | undefined, cwd = process.cwd()): undefined {
  if (path === undefined || path.trim() === '') return undefined;
  const file = resolve(cwd, path);
  if (!existsSync(file)) {
    throw new TurnModelError(`speech.endpoint.turnModel.path: no file at ${file} (leave the key unset to run without an audio turn model)`, file);
  }
  if (!statSync(file).isFile()) throw new TurnModelError(`speech.endpoint.turnModel.path: ${file} is not a file`, file);
  throw new TurnModelError(
    `speech.endpoint.turnModel.path: ${file} exists, but this build has no general ONNX runtime to run an audio turn model; unset the key (the transcript, flow-step and prosody cues still decide the end of turn)`,
    file,
  );
}
