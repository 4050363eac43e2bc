import { describe, expect, it } from 'vitest';
import { DEFAULT_SEMI_SPACE_MIB, workerExecArgv } from '../../src/process/node-flags.js';

describe('workerExecArgv: the node flags a worker is forked with', () => {
  it('caps the young generation by default', () => {
    expect(workerExecArgv({})).toEqual([`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MIB}`]);
    expect(workerExecArgv({ TURNOUT_SEMI_SPACE_MIB: '' })).toEqual([`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MIB}`]);
  });

  it('takes the cap from TURNOUT_SEMI_SPACE_MIB, 0 leaving V8 its own', () => {
    expect(workerExecArgv({ TURNOUT_SEMI_SPACE_MIB: '32' })).toEqual(['--max-semi-space-size=32']);
    expect(workerExecArgv({ TURNOUT_SEMI_SPACE_MIB: '0' })).toEqual([]);
  });

  it("adds nothing when NODE_OPTIONS already sets one: the operator's flag reaches the worker by inheritance", () => {
    expect(workerExecArgv({ NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=8', TURNOUT_SEMI_SPACE_MIB: '32' })).toEqual([]);
    expect(workerExecArgv({ NODE_OPTIONS: '--max-old-space-size=512' })).toEqual([`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MIB}`]);
  });

  it('refuses what is not a whole number of MiB, naming the variable', () => {
    for (const bad of ['16m', '-1', '1.5', '4096', 'x']) {
      expect(() => workerExecArgv({ TURNOUT_SEMI_SPACE_MIB: bad })).toThrow(/TURNOUT_SEMI_SPACE_MIB/);
    }
  });
});
