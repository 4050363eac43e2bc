import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { RevisionMismatchError, StateFileError, StoreUnavailableError } from '../../src/errors.js';
import type { StateSnapshot } from '../../src/model/index.js';
import { FileStore, MemoryStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/serve.js';

function snap(revision: number, split: Record<string, number> = { blue: 100, green: 0 }, weight = 100): StateSnapshot {
  return {
    revision,
    services: {
      web: {
        split,
        pools: {
          blue: { backends: [{ id: 'b1', url: 'http://127.0.0.1:3001', weight, state: 'active' }] },
          green: { backends: [] },
        },
        splitHistory: [],
        history: [],
      },
    },
  };
}

async function statePath(): Promise<{ dir: string; path: string }> {
  const dir = await tempDir();
  return { dir, path: join(dir, 'state.json') };
}

describe('FileStore', () => {
  test('a missing file loads as nothing; a write then a load in a new store round-trips', async () => {
    const { path } = await statePath();
    const store = new FileStore(path);
    expect(await store.load()).toBeUndefined();
    await store.write(snap(1), 0);
    await store.write(snap(2, { blue: 40, green: 60 }, 7), 1);
    await store.close();

    const again = new FileStore(path);
    expect(await again.load()).toEqual(snap(2, { blue: 40, green: 60 }, 7));
  });

  test('the directory is created when missing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a', 'b', 'state.json');
    await new FileStore(path).write(snap(1), 0);
    expect(await new FileStore(path).load()).toEqual(snap(1));
  });

  test('writes are atomic: only the state file remains beside it, also after a failed write', async () => {
    const { dir, path } = await statePath();
    const store = new FileStore(path);
    await store.load();
    // Issued together: serialised, each a compare-and-set on the one before.
    await Promise.all([store.write(snap(1), 0), store.write(snap(2), 1), store.write(snap(3), 2)]);
    expect(await readdir(dir)).toEqual(['state.json']);
    expect((await new FileStore(path).load())?.revision).toBe(3);

    // The rename fails (a directory is in the way): the temp file is cleaned up.
    const blocked = join(dir, 'blocked.json');
    await mkdir(join(blocked, 'x'), { recursive: true });
    await expect(new FileStore(blocked).write(snap(1), 0)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await readdir(dir)).sort()).toEqual(['blocked.json', 'state.json']);
  });

  test('a stale expected revision is refused with RevisionMismatchError and the file keeps the newer state', async () => {
    const { path } = await statePath();
    const store = new FileStore(path);
    await store.write(snap(1), 0);
    await store.write(snap(2, { blue: 0, green: 100 }), 1);
    const stale = store.write(snap(2, { blue: 50, green: 50 }), 1);
    await expect(stale).rejects.toBeInstanceOf(RevisionMismatchError);
    await expect(stale).rejects.toMatchObject({ code: 'revision_mismatch', details: { expected: 1, actual: 2 } });
    expect(await new FileStore(path).load()).toEqual(snap(2, { blue: 0, green: 100 }));
    // The refusal does not wedge the store.
    await store.write(snap(3), 2);
    expect((await new FileStore(path).load())?.revision).toBe(3);
  });

  test('a file from an older version without history arrays loads with empty ones', async () => {
    const { path } = await statePath();
    const { splitHistory: _s, history: _h, ...bare } = snap(4).services.web!;
    await writeFile(path, JSON.stringify({ revision: 4, services: { web: bare } }));
    expect(await new FileStore(path).load()).toEqual(snap(4));
  });

  const whole = JSON.stringify(snap(5), null, 1);
  const CORRUPT: readonly { name: string; bytes: Buffer }[] = [
    { name: 'garbage', bytes: Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x6e, 0x6f, 0x70, 0x65]) },
    { name: 'an empty file', bytes: Buffer.alloc(0) },
    { name: 'truncated JSON', bytes: Buffer.from(whole.slice(0, Math.floor(whole.length / 2))) },
    { name: 'JSON null', bytes: Buffer.from('null\n') },
    { name: 'a JSON array', bytes: Buffer.from('[1,2,3]') },
    { name: 'a revision that is not an integer', bytes: Buffer.from('{"revision":"5","services":{}}') },
    { name: 'services missing', bytes: Buffer.from('{"revision":5}') },
    { name: 'a service without pools', bytes: Buffer.from('{"revision":5,"services":{"web":{"split":{"blue":100}}}}') },
    { name: 'pools that are null', bytes: Buffer.from('{"revision":5,"services":{"web":{"split":{"blue":100},"pools":null}}}') },
    { name: 'a pool without a backends list', bytes: Buffer.from('{"revision":5,"services":{"web":{"split":{"blue":100},"pools":{"blue":{}}}}}') },
    {
      name: 'a backend without an id',
      bytes: Buffer.from('{"revision":5,"services":{"web":{"split":{"blue":100},"pools":{"blue":{"backends":[{"url":"http://a:1","weight":1,"state":"active"}]}}}}}'),
    },
    { name: 'a split value that is not a number', bytes: Buffer.from('{"revision":5,"services":{"web":{"split":{"blue":"100"},"pools":{"blue":{"backends":[]}}}}}') },
  ];

  test.for(CORRUPT)('$name: load() throws StateFileError naming the path, the file stays byte-identical and writes are refused', async ({ bytes }) => {
    const { dir, path } = await statePath();
    await writeFile(path, bytes);
    const store = new FileStore(path);

    const loaded = store.load();
    await expect(loaded).rejects.toBeInstanceOf(StateFileError);
    await expect(loaded).rejects.toThrow(path);
    expect((await readFile(path)).equals(bytes)).toBe(true);

    await expect(store.write(snap(6), 5)).rejects.toThrow(/refusing to overwrite/);
    await expect(store.write(snap(1), 0)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  test('setAsideIfCorrupt (for --reset-state) moves a corrupt file aside intact and leaves a sound or missing one alone', async () => {
    const { dir, path } = await statePath();
    const store = new FileStore(path);
    expect(await store.setAsideIfCorrupt()).toBeUndefined();

    await store.write(snap(1), 0);
    const sound = await readFile(path);
    expect(await store.setAsideIfCorrupt()).toBeUndefined();
    expect((await readFile(path)).equals(sound)).toBe(true);

    const bytes = Buffer.from('{"revision": 7, "serv');
    await writeFile(path, bytes);
    const aside = await store.setAsideIfCorrupt();
    expect(aside).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.corrupt-`));
    expect((await readFile(aside as string)).equals(bytes)).toBe(true);
    expect(await readdir(dir)).toEqual([aside?.slice(dir.length + 1)]);
    expect(await new FileStore(path).load()).toBeUndefined();
  });
});

describe('MemoryStore', () => {
  test('starts empty, keeps what was written, refuses a stale revision', async () => {
    const store = new MemoryStore();
    expect(store.kind).toBe('memory');
    expect(await store.load()).toBeUndefined();
    await store.write(snap(1), 0);
    expect(await store.load()).toEqual(snap(1));
    await store.write(snap(2, { blue: 0, green: 100 }), 1);
    await expect(store.write(snap(2), 1)).rejects.toMatchObject({ code: 'revision_mismatch', details: { expected: 1, actual: 2 } });
    expect(await store.load()).toEqual(snap(2, { blue: 0, green: 100 }));
    await store.close();
  });

  test('nothing survives into a new store', async () => {
    const a = new MemoryStore();
    await a.write(snap(1), 0);
    expect(await new MemoryStore().load()).toBeUndefined();
  });
});
