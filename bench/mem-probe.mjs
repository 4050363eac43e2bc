// Memory probe for the soak bench: loaded into turnout's processes with
// NODE_OPTIONS="--import <this file>" (so a supervisor's forked workers get it too: they inherit the
// environment), it appends one JSON line per SOAK_MEM_INTERVAL_MS (default 1000) to
// $SOAK_MEM_DIR/mem-<pid>.jsonl: process.memoryUsage() and V8's heap figures per space. The timer
// is unref'd (it never keeps a process alive); a line is a few hundred bytes, written
// synchronously once a second, which costs the process far less than the noise of a phase.
// Nothing here runs unless SOAK_MEM_DIR is set. Bench code only: turnout itself does not load it.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';

const dir = process.env.SOAK_MEM_DIR;
if (dir !== undefined && dir !== '') {
  const file = path.join(dir, `mem-${process.pid}.jsonl`);
  const every = Number(process.env.SOAK_MEM_INTERVAL_MS ?? 1000);
  const role = path.basename(process.argv[1] ?? 'node');
  const sample = () => {
    const m = process.memoryUsage();
    const h = v8.getHeapStatistics();
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) {
      spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
    }
    const line = {
      t: Date.now(),
      pid: process.pid,
      role,
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      v8Physical: h.total_physical_size,
      v8Malloced: h.malloced_memory,
      spaces,
    };
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // the bench removed its directory: nothing to report to
    }
  };
  sample();
  setInterval(sample, every).unref();
}
