/**
 * The optional audio end-of-turn model (`speech.endpoint.turnModel.path`): an ONNX file following Smart Turn v3's
 * contract. Input `input_features`, float32 [batch, 80, 800]: Whisper log-mel features of the last 8 s of 16 kHz
 * mono audio (whisper-log-mel.ts). Output: the probability that the turn is complete, float32 [batch, 1] (v3 applies
 * the sigmoid in the graph). The endpointer takes that probability as one cue (end-of-turn.ts).
 *
 * This file holds the narrow interface the rest of the engine sees and the checks made at start; the runtime
 * (onnxruntime-web, an optional dependency imported only when the key is set) lives behind it.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** What the endpointer asks of an audio turn model. */
export interface TurnModel {
  /**
   * Probability (0..1) that the caller's turn is complete, from the utterance's recent 16 kHz mono audio (up to the
   * last 8 s are used; shorter audio is padded at the start). Aborting `signal` cancels a run not yet started
   * (rejected with TurnModelSkipped).
   */
  completeProbability(audio16k: Float32Array, signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

/** A run that was not made: cancelled because the caller spoke again, or refused because the model is backed up. */
export class TurnModelSkipped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TurnModelSkipped';
  }
}

export class TurnModelError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'TurnModelError';
  }
}

export const TURN_MODEL_SAMPLE_RATE = 16000;
export const TURN_MODEL_MEL_BINS = 80;
export const TURN_MODEL_FRAMES = 800;
/** Smart Turn's input: 8 s at 16 kHz. */
export const TURN_MODEL_INPUT_SAMPLES = 8 * TURN_MODEL_SAMPLE_RATE;

const KEY = 'speech.endpoint.turnModel.path';

/** The configured model file, resolved and checked to exist; undefined when none is configured (the default). */
export function resolveTurnModelPath(path: string | undefined, cwd = process.cwd()): string | undefined {
  if (path === undefined || path.trim() === '') return undefined;
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new TurnModelError(`${KEY}: no file at ${file} (leave the key unset to run without an audio turn model)`, file);
  if (!statSync(file).isFile()) throw new TurnModelError(`${KEY}: ${file} is not a file`, file);
  return file;
}

/** An input or output as the ONNX session describes it. */
export interface TurnModelValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/** A fixed dimension must equal `want`; a symbolic one (batch, or a name) is accepted. */
const dimFits = (dim: number | string | undefined, want: number): boolean => typeof dim === 'string' || dim === want || dim === -1;

const describe = (v: TurnModelValueInfo): string => `${v.name} ${v.type ?? '?'} [${(v.shape ?? []).join(', ')}]`;

/**
 * Checks a loaded model's inputs and outputs against Smart Turn's contract and returns the names to use. Names are
 * read from the model rather than assumed; a model whose input cannot take [1, 80, 800] float32 is refused.
 */
export function checkTurnModelContract(
  file: string,
  inputs: readonly TurnModelValueInfo[],
  outputs: readonly TurnModelValueInfo[],
): { input: string; output: string } {
  const refuse = (why: string): never => {
    throw new TurnModelError(
      `${KEY}: ${file} does not follow Smart Turn's contract (input float32 [batch, ${TURN_MODEL_MEL_BINS}, ${TURN_MODEL_FRAMES}] of Whisper log-mel features -> completion probability [batch, 1]): ${why}`,
      file,
    );
  };
  if (inputs.length !== 1) refuse(`it has ${inputs.length} inputs (${inputs.map(describe).join('; ')})`);
  const input = inputs[0]!;
  const shape = input.shape;
  if (!input.isTensor || input.type !== 'float32') refuse(`its input is ${describe(input)}`);
  if (shape && (shape.length !== 3 || !dimFits(shape[0], 1) || !dimFits(shape[1], TURN_MODEL_MEL_BINS) || !dimFits(shape[2], TURN_MODEL_FRAMES))) {
    refuse(`its input is ${describe(input)}`);
  }
  const output = outputs[0];
  if (!output) return refuse('it has no output');
  if (!output.isTensor || output.type !== 'float32') refuse(`its output is ${describe(output)}`);
  const oshape = output.shape;
  if (oshape && (oshape.length > 2 || oshape.slice(1).some((d) => !dimFits(d, 1)))) refuse(`its output is ${describe(output)}, not one value per batch item`);
  return { input: input.name, output: output.name };
}
