import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parentChannel, startOrFail, type WorkerStartReply } from '../../src/core/index.ts';

test('startOrFail posts ready after the engine is built, and returns it', () => {
  const posted: WorkerStartReply[] = [];
  const engine = startOrFail((m) => posted.push(m), () => ({ name: 'decoder' }));
  assert.equal(engine, { name: 'decoder' });
  assert.equal(posted, [{ kind: 'ready' }]);
});

test('startOrFail posts why the engine could not be built, then rethrows so the worker ends', () => {
  const posted: WorkerStartReply[] = [];
  assert.throws(
    () =>
      startOrFail(
        (m) => posted.push(m),
        () => {
          throw new Error('model.onnx: no such file');
        },
      ),
    /no such file/,
  );
  assert.equal(posted, [{ kind: 'failed', message: 'model.onnx: no such file' }]);
});

test('parentChannel on the main thread names the worker module it was meant for', () => {
  assert.throws(() => parentChannel('asr-worker.ts'), /asr-worker\.ts must run inside a worker thread/);
});

test.run();
