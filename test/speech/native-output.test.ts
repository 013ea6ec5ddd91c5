import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/e2e.ts';

// sherpa-onnx's C++ code prints straight to file descriptor 2 (e.g. "Creating a resampler" for every stream fed at
// a rate other than the model's): nothing in-process can catch it, so a child process runs real calls and the test
// reads the child's stderr.
test("the speech engine's native code prints nothing on stderr while calls at 8 and 16 kHz are decoded", () => {
  const child = join(REPO_ROOT, 'test/speech/native-output-child.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', child], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, `child failed (${r.signal ?? r.status}): ${r.stderr.slice(0, 800)}`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { expected: string; finals: string[] };
  assert.equal(result.finals, [result.expected, result.expected], 'both calls were decoded');
  assert.is(r.stderr, '', 'nothing on stderr');
});

test.run();
