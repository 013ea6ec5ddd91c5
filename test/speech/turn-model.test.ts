import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TurnModelError, checkTurnModel } from '../../src/speech/turn-model.ts';

test('no audio turn model configured (the default): nothing to check', () => {
  assert.is(checkTurnModel(undefined), undefined);
  assert.is(checkTurnModel('  '), undefined);
});

test('a configured turn model that is missing or cannot run is refused at start with a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turn-model-'));
  try {
    checkTurnModel('smart-turn-v3.onnx', dir);
    assert.unreachable('missing file accepted');
  } catch (err) {
    assert.instance(err, TurnModelError);
    assert.match((err as Error).message, /no file at .*smart-turn-v3\.onnx/);
  }
  try {
    checkTurnModel('.', dir);
    assert.unreachable('folder accepted');
  } catch (err) {
    assert.match((err as Error).message, /is not a file/);
  }
  writeFileSync(join(dir, 'model.onnx'), 'not really a model');
  try {
    checkTurnModel('model.onnx', dir);
    assert.unreachable('a model this build cannot run was accepted silently');
  } catch (err) {
    assert.match((err as Error).message, /no general ONNX runtime/);
  }
});

test.run();
