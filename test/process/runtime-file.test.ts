import { describe, expect, test } from 'vitest';
import { orphansIn, parseStartTime, runtimeFilePath, startTimeOf } from '../../src/process/runtime-file.js';
import type { ProcessMark, RuntimeRecord } from '../../src/process/runtime-file.js';

// The runtime file's pure parts: /proc/PID/stat's start time, who is an orphan, where the file is.

const stat = (name: string, start: number): string => `4242 (${name}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 11 0 ${start} 1000000 5000 18446744073709551615`;

describe('parseStartTime: field 22 of /proc/PID/stat', () => {
  test.each([
    ['a plain name', stat('node', 1367016), 1367016],
    ['a name with spaces', stat('Main Thread', 77), 77],
    ['a name with parentheses', stat('a) S 1 (b', 5), 5],
    ['no name', '4242 node S 1', undefined],
    ['cut short', '4242 (node) S 1 4242', undefined],
  ])('%s', (_what, text, want) => {
    expect(parseStartTime(text)).toBe(want);
  });

  test('this process: a start time, the same each time', () => {
    const a = startTimeOf(process.pid);
    expect(a).toBeGreaterThan(0);
    expect(startTimeOf(process.pid)).toBe(a);
    expect(startTimeOf(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('orphansIn: the workers left running by a supervisor that no longer runs', () => {
  const sup = { pid: 10, start: 100 };
  const w = (pid: number, start: number): RuntimeRecord['workers'][number] => ({ pid, start, generation: 1, startedAt: '' });
  const record: RuntimeRecord = { supervisor: sup, workers: [w(11, 110), w(12, 120), w(13, 130)] };
  /** Running: these pids with these start times. */
  const running = (...marks: ProcessMark[]) => (p: ProcessMark): boolean => marks.some((m) => m.pid === p.pid && m.start === p.start);
  test.each([
    ['no file', undefined, running(), 99, []],
    ['the supervisor still runs: none (not orphans)', record, running(sup, w(11, 110)), 99, []],
    ['the supervisor is gone: the workers that still run', record, running(w(11, 110), w(13, 130)), 99, [11, 13]],
    ['a pid reused by another process (another start time): not it', record, running(w(11, 110), { pid: 12, start: 999 }), 99, [11]],
    ['the supervisor pid reused by another process: the workers are orphans', record, running({ pid: 10, start: 1 }, w(12, 120)), 99, [12]],
    ['its own file (the supervisor is this process): none', record, running(w(11, 110)), 10, []],
  ])('%s', (_what, rec, isRunning, self, want) => {
    expect(orphansIn(rec, isRunning, self).map((o) => o.pid)).toEqual(want);
  });
});

describe('runtimeFilePath', () => {
  test.each([
    ['TURNOUT_RUNTIME_DIR first', { TURNOUT_RUNTIME_DIR: '/run/a', RUNTIME_DIRECTORY: '/run/b' }, /^\/run\/a\/turnout-[0-9a-f]{16}\.json$/],
    ["systemd's RuntimeDirectory=", { RUNTIME_DIRECTORY: '/run/turnout:/run/other' }, /^\/run\/turnout\/turnout-[0-9a-f]{16}\.json$/],
  ])('%s', (_what, env, want) => {
    expect(runtimeFilePath('/etc/turnout/turnout.yaml', env)).toMatch(want);
  });
  test('one file per config file, the same for the same file however named', () => {
    const env = { TURNOUT_RUNTIME_DIR: '/run/t' };
    expect(runtimeFilePath('/etc/turnout/a.yaml', env)).not.toBe(runtimeFilePath('/etc/turnout/b.yaml', env));
    expect(runtimeFilePath('/etc/turnout/./a.yaml', env)).toBe(runtimeFilePath('/etc/turnout/a.yaml', env));
  });
});
