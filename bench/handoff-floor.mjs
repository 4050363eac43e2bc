// The hand-off floor, bench code only: what Node itself charges to accept a connection in one
// process and hand it to another over IPC, as turnout's supervisor does (net.Server with
// pauseOnConnect, child_process.fork with serialization 'advanced', send({…}, socket,
// {keepOpen: false})). The parent accepts and hands each connection to its children in turn; a
// child answers the first request on it with a fixed 200 and `Connection: close`, and closes.
// Nothing is proxied, parsed or reported back: bench/workers.mjs runs it in its connect-per-request
// variant, next to turnout, so that turnout's supervisor and worker cost per connection can be read
// against this floor.
//
//   node bench/handoff-floor.mjs --port 8090 [--children 1] [--size 1024]
import { fork } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8090' },
    host: { type: 'string', default: '127.0.0.1' },
    children: { type: 'string', default: '1' },
    size: { type: 'string', default: '1024' },
    child: { type: 'boolean', default: false },
  },
});
const size = Number(values.size);

if (values.child) {
  const answer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${size}\r\nconnection: close\r\n\r\n`), Buffer.alloc(size, 'x')]);
  process.on('message', (m, socket) => {
    if (m?.t !== 'conn' || socket === undefined) return;
    socket.on('error', () => socket.destroy());
    // The request head of a bodiless GET arrives in one read on loopback.
    socket.once('data', () => socket.end(answer));
  });
  process.on('disconnect', () => process.exit(0));
} else {
  const kids = Array.from({ length: Number(values.children) }, () =>
    fork(new URL(import.meta.url).pathname, ['--child', '--size', String(size)], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }),
  );
  let turn = 0;
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const kid = kids[turn++ % kids.length];
    kid.send({ t: 'conn' }, socket, { keepOpen: false }, (err) => {
      if (err) socket.destroy();
    });
  });
  server.listen(Number(values.port), values.host, () => process.stdout.write(`handoff-floor listening on ${values.host}:${values.port}, ${kids.length} children\n`));
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      for (const k of kids) k.kill('SIGKILL');
      process.exit(0);
    });
  }
}
