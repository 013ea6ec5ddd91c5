import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sweepRecordings } from '../../src/store/index.ts';

const DAY = 24 * 60 * 60 * 1000;

test('deletes only call folders whose newest file is past retention', async () => {
  const root = mkdtempSync(join(tmpdir(), 'callpilot-sweep-'));
  const outside = mkdtempSync(join(tmpdir(), 'callpilot-sweep-outside-'));
  try {
    const now = new Date('2025-06-01T00:00:00Z');
    const makeCall = (name: string, folderAgeDays: number, fileAgeDays: number): string => {
      const dir = join(root, name);
      mkdirSync(dir);
      const file = join(dir, 'mixed.wav');
      writeFileSync(file, 'RIFF');
      const fileTime = new Date(now.getTime() - fileAgeDays * DAY);
      utimesSync(file, fileTime, fileTime);
      const folderTime = new Date(now.getTime() - folderAgeDays * DAY);
      utimesSync(dir, folderTime, folderTime);
      return dir;
    };
    const old = makeCall('old-call', 40, 40);
    const fresh = makeCall('fresh-call', 2, 2);
    // Folder created long ago but a WAV was written recently (a long call, or a late mix): keep it.
    const rewritten = makeCall('rewritten-call', 40, 1);
    writeFileSync(join(root, 'notes.txt'), 'not a call');
    utimesSync(join(root, 'notes.txt'), new Date(0), new Date(0));
    const oldOutside = join(outside, 'target');
    mkdirSync(oldOutside);
    symlinkSync(oldOutside, join(root, 'link'));

    assert.equal(await sweepRecordings(root, 0, now), [], 'retention 0 keeps everything');
    assert.ok(existsSync(old));

    const deleted = await sweepRecordings(root, 30, now);
    assert.equal(deleted, [old]);
    assert.not.ok(existsSync(old));
    assert.ok(existsSync(fresh));
    assert.ok(existsSync(rewritten));
    assert.ok(existsSync(join(root, 'notes.txt')));
    assert.ok(existsSync(oldOutside));
    assert.equal(await sweepRecordings(join(root, 'missing'), 30, now), []);
    // A plain file where the folder should be: nothing to sweep, and no rejection.
    assert.equal(await sweepRecordings(join(root, 'notes.txt'), 30, now), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test.run();
