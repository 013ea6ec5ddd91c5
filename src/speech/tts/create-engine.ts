import type { Logger } from 'pino';
import type { SpeechConfig } from '../config.ts';
import type { TtsEngine } from '../types.ts';
import { EspeakTtsEngine } from './espeak-engine.ts';
import { SherpaTtsConfigError } from './sherpa-config.ts';
import { readSherpaTtsModelDir, SherpaTtsEngine } from './sherpa-engine.ts';

export interface CreateTtsEngineOptions {
  log?: Logger;
  /** Turns `speech.tts.model` (registry name or folder) into a folder; without it the value is taken as a folder. */
  resolveModelDir?: (nameOrPath: string) => string;
}

/** Builds the engine `speech.tts` asks for. Create one per process and share it across calls. */
export async function createTtsEngine(config: SpeechConfig['tts'], options: CreateTtsEngineOptions = {}): Promise<TtsEngine> {
  if (config.engine === 'espeak') {
    return EspeakTtsEngine.create({ voices: config.voices, rate: config.rate, log: options.log });
  }
  if (!config.model) throw new SherpaTtsConfigError('speech.tts.engine is "sherpa" but speech.tts.model is not set');
  const dir = options.resolveModelDir ? options.resolveModelDir(config.model) : config.model;
  return SherpaTtsEngine.create({ model: readSherpaTtsModelDir(dir), log: options.log });
}
