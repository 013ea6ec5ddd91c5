/**
 * An offline CTC model (sherpa-onnx's offline zipformer CTC contract) derived from a streaming one of the shared models
 * (test/support/offline-ctc-from-streaming.py, Debian's python3-onnx), for the two-pass final's tests: it decodes what
 * the streaming model decodes, from the whole utterance at once. Made into the OS temp folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./offline-ctc-from-streaming.py', import.meta.url));
/** Debian's interpreter, where python3-onnx installs (a `python3` earlier on PATH may be another one). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Why no offline model can be derived here (python3 or its onnx package missing), or undefined when one can. */
export function offlineDerivationUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.error) return 'python3 is not installed';
  if (probe.status !== 0) return 'python3 has no onnx package (Debian: apt-get install python3-onnx)';
  return undefined;
}

/**
 * A folder holding `model.onnx` (offline) and the streaming model's `tokens.txt`; made once per version of the
 * script and size of the streaming model (a folder left by an older script is never reused).
 */
export function offlineCtcModelDir(streamingDir: string, name: string): string {
  const key = createHash('sha256').update(readFileSync(SCRIPT)).update(String(statSync(join(streamingDir, 'model.onnx')).size)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `callpilot-offline-${name}-${key}`);
  const model = join(dir, 'model.onnx');
  if (existsSync(model) && existsSync(join(dir, 'tokens.txt'))) return dir;
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, 'model.partial.onnx');
  execFileSync(PYTHON, [SCRIPT, join(streamingDir, 'model.onnx'), partial], { stdio: ['ignore', 'ignore', 'pipe'] });
  copyFileSync(join(streamingDir, 'tokens.txt'), join(dir, 'tokens.txt'));
  renameSync(partial, model);
  return dir;
}
