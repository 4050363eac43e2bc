import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import type { ServingStatus } from 'grpc-health-check';
import { onTestFinished } from 'vitest';

/** The echo service's messages (test/fixtures/echo.proto). */
export interface EchoRequest {
  message?: string;
  /** Server stream: how many answers (default 1). */
  count?: number;
  /** Bytes of padding in each answer. */
  pad?: number;
}
export interface EchoReply {
  message: string;
  backend: string;
  index: number;
  padding: Buffer;
}

const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));
// Loaded once per test file (a pure read of the fixture); proto-loader, not a hand-written encoder.
const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { turnout: { test: { Echo: grpc.ServiceClientConstructor } } };
const Echo = loaded.turnout.test.Echo;

/** The full service name, as health checks and `grpcService` name it. */
export const ECHO_SERVICE = 'turnout.test.Echo';

export interface GrpcBackendOptions {
  /** Wait this long before each answer (ms, default 0); metadata `x-delay-ms` overrides it per call. */
  delayMs?: number;
  /** Server streams: gap between answers (ms, default 0); metadata `x-interval-ms` overrides it per call. */
  intervalMs?: number;
  /** Answer INTERNAL to every Nth call (counted over all four methods; default 0: never). */
  failEvery?: number;
  /** The health service's status for "" and for ECHO_SERVICE (default SERVING). */
  health?: ServingStatus;
  /** Skip the automatic close after the test (the test closes it itself). */
  keepCleanup?: boolean;
}

export interface GrpcBackend {
  readonly id: string;
  /** `http://127.0.0.1:port`, as a turnout backend url. */
  readonly url: string;
  /** `127.0.0.1:port`, as a grpc-js target. */
  readonly address: string;
  readonly port: number;
  readonly server: grpc.Server;
  /** Echo calls started (health checks not counted). */
  calls: number;
  /** Calls answered INTERNAL on purpose. */
  failed: number;
  /** Mutable: takes effect for the next calls. */
  readonly options: { delayMs: number; intervalMs: number; failEvery: number };
  /** Sets the standard health service's answer for `service` ("" is the whole server). */
  setHealth(status: ServingStatus, service?: string): void;
  /** Stops at once: open calls are cancelled. Idempotent. */
  close(): Promise<void>;
}

type Call = grpc.ServerUnaryCall<EchoRequest, EchoReply> | grpc.ServerReadableStream<EchoRequest, EchoReply> | grpc.ServerWritableStream<EchoRequest, EchoReply> | grpc.ServerDuplexStream<EchoRequest, EchoReply>;

const first = (md: grpc.Metadata, key: string): string | undefined => {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
};
const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * A real @grpc/grpc-js server on 127.0.0.1:0 with the echo service (unary, client stream, server
 * stream, bidi) and the standard health service (grpc-health-check's HealthImplementation). Every
 * answer echoes the call's `x-*` metadata as its headers and ends with trailers `x-backend: <id>`
 * and `x-trailer: done`. Closed after the test.
 */
export async function startGrpcBackend(id: string, opts: GrpcBackendOptions = {}): Promise<GrpcBackend> {
  const server = new grpc.Server();
  const health = new HealthImplementation({ '': opts.health ?? 'SERVING', [ECHO_SERVICE]: opts.health ?? 'SERVING' });
  health.addToServer(server);
  const options = { delayMs: opts.delayMs ?? 0, intervalMs: opts.intervalMs ?? 0, failEvery: opts.failEvery ?? 0 };
  let b!: GrpcBackend;

  const reply = (message: string, index: number, pad: number): EchoReply => ({ message, backend: id, index, padding: Buffer.alloc(Math.max(0, pad), 'x') });
  const trailers = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set('x-backend', id);
    md.set('x-trailer', 'done');
    return md;
  };
  /** Counts the call, sends the echoed headers, and says whether this one must fail and how long to wait. */
  const begin = (call: Call): { fail: boolean; delayMs: number; intervalMs: number } => {
    b.calls++;
    const echoed = new grpc.Metadata();
    for (const [k, v] of Object.entries(call.metadata.getMap())) if (k.startsWith('x-')) echoed.set(k, v);
    echoed.set('x-backend', id);
    call.sendMetadata(echoed);
    const fail = options.failEvery > 0 && b.calls % options.failEvery === 0;
    if (fail) b.failed++;
    return {
      fail,
      delayMs: Number(first(call.metadata, 'x-delay-ms') ?? options.delayMs),
      intervalMs: Number(first(call.metadata, 'x-interval-ms') ?? options.intervalMs),
    };
  };
  const internal = (): Partial<grpc.StatusObject> => ({ code: grpc.status.INTERNAL, details: `injected failure on ${id}`, metadata: trailers() });

  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const s = begin(call);
      void sleep(s.delayMs).then(() => {
        if (call.cancelled) return;
        if (s.fail) return cb(internal(), null);
        cb(null, reply(call.request.message ?? '', 0, call.request.pad ?? 0), trailers());
      });
    },
    ClientStream(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const s = begin(call);
      const parts: string[] = [];
      let pad = 0;
      call.on('data', (m: EchoRequest) => {
        parts.push(m.message ?? '');
        pad = m.pad ?? pad;
      });
      call.on('end', () => {
        void sleep(s.delayMs).then(() => {
          if (call.cancelled) return;
          if (s.fail) return cb(internal(), null);
          cb(null, reply(parts.join(','), parts.length, pad), trailers());
        });
      });
    },
    ServerStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      const s = begin(call);
      void (async () => {
        await sleep(s.delayMs);
        if (s.fail) return call.emit('error', internal());
        const count = call.request.count || 1;
        for (let i = 0; i < count && !call.cancelled; i++) {
          if (i > 0) await sleep(s.intervalMs);
          if (call.cancelled) return;
          // Backpressure: wait for drain when the stream's buffer is full.
          if (!call.write(reply(call.request.message ?? '', i, call.request.pad ?? 0))) await new Promise((r) => call.once('drain', r));
        }
        if (!call.cancelled) call.end(trailers());
      })();
    },
    Bidi(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      const s = begin(call);
      let i = 0;
      if (s.fail) {
        call.resume();
        return call.emit('error', internal());
      }
      call.on('data', (m: EchoRequest) => call.write(reply(m.message ?? '', i++, m.pad ?? 0)));
      call.on('end', () => call.end(trailers()));
    },
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let closed: Promise<void> | undefined;
  b = {
    id,
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    server,
    calls: 0,
    failed: 0,
    options,
    setHealth: (status, service = '') => health.setStatus(service, status),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      });
      return closed;
    },
  };
  if (!opts.keepCleanup) onTestFinished(() => b.close());
  return b;
}

/** The answer of a call as the client saw it: replies, headers, and the final status with its trailers. */
export interface CallResult {
  readonly replies: EchoReply[];
  readonly headers: grpc.Metadata | undefined;
  readonly status: grpc.StatusObject;
}

export interface CallOptions {
  /** Sent as the call's metadata. */
  metadata?: Record<string, string>;
  /** Relative deadline (ms). */
  deadlineMs?: number;
}

/** An echo client whose calls resolve with what came back (never reject: a failed call is a status). */
export interface EchoClient {
  readonly client: grpc.Client;
  unary(req: EchoRequest, opts?: CallOptions): Promise<CallResult>;
  clientStream(reqs: readonly EchoRequest[], opts?: CallOptions): Promise<CallResult>;
  serverStream(req: EchoRequest, opts?: CallOptions): Promise<CallResult>;
  bidi(reqs: readonly EchoRequest[], opts?: CallOptions): Promise<CallResult>;
  close(): void;
}

type AnyCall = grpc.ClientUnaryCall | grpc.ClientReadableStream<EchoReply> | grpc.ClientWritableStream<EchoRequest> | grpc.ClientDuplexStream<EchoRequest, EchoReply>;
type RawClient = grpc.Client & Record<string, (...args: unknown[]) => AnyCall>;

/**
 * A grpc-js client of the echo service for `target` (`127.0.0.1:port` or an `http://` url),
 * plaintext, closed after the test. One client is one channel: one HTTP/2 connection at a time.
 */
export function echoClient(target: string, channelOptions: grpc.ChannelOptions = {}): EchoClient {
  const address = target.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const client = new Echo(address, grpc.credentials.createInsecure(), channelOptions) as unknown as RawClient;
  onTestFinished(() => client.close());
  const md = (o: CallOptions = {}): grpc.Metadata => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(o.metadata ?? {})) m.set(k, v);
    return m;
  };
  const callOpts = (o: CallOptions = {}): grpc.CallOptions => (o.deadlineMs !== undefined ? { deadline: Date.now() + o.deadlineMs } : {});
  /** Wires a call's events into one CallResult. */
  const collect = (start: (onReply: (err: grpc.ServiceError | null, r?: EchoReply) => void) => AnyCall, streamed: boolean): Promise<CallResult> =>
    new Promise((resolve) => {
      const replies: EchoReply[] = [];
      let headers: grpc.Metadata | undefined;
      const call = start((err, r) => {
        if (!err && r !== undefined) replies.push(r);
      });
      call.on('metadata', (m: grpc.Metadata) => (headers = m));
      if (streamed) {
        const stream = call as grpc.ClientReadableStream<EchoReply>;
        stream.on('data', (r: EchoReply) => replies.push(r));
        stream.on('error', () => undefined); // the status event carries what went wrong
      }
      call.on('status', (status: grpc.StatusObject) => setImmediate(() => resolve({ replies, headers, status })));
    });
  const writeAll = (call: grpc.ClientWritableStream<EchoRequest> | grpc.ClientDuplexStream<EchoRequest, EchoReply>, reqs: readonly EchoRequest[]): void => {
    for (const r of reqs) call.write(r);
    call.end();
  };
  return {
    client,
    unary: (req, o) => collect((cb) => (client.Unary as (...a: unknown[]) => AnyCall)(req, md(o), callOpts(o), cb), false),
    clientStream: (reqs, o) =>
      collect((cb) => {
        const call = (client.ClientStream as (...a: unknown[]) => grpc.ClientWritableStream<EchoRequest>)(md(o), callOpts(o), cb);
        writeAll(call, reqs);
        return call;
      }, false),
    serverStream: (req, o) => collect(() => (client.ServerStream as (...a: unknown[]) => AnyCall)(req, md(o), callOpts(o)), true),
    bidi: (reqs, o) =>
      collect(() => {
        const call = (client.Bidi as (...a: unknown[]) => grpc.ClientDuplexStream<EchoRequest, EchoReply>)(md(o), callOpts(o));
        writeAll(call, reqs);
        return call;
      }, true),
    close: () => client.close(),
  };
}

/** A client of the standard health service: Check(service) → the status name, or the gRPC error. */
export async function checkHealth(target: string, service = ''): Promise<string> {
  const { service: healthService } = await import('grpc-health-check');
  const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const client = new Health(target.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure()) as unknown as RawClient;
  try {
    return await new Promise<string>((resolve) => {
      (client.check as (...a: unknown[]) => AnyCall)({ service }, { deadline: Date.now() + 2000 }, (err: grpc.ServiceError | null, r?: { status: string | number }) =>
        resolve(err ? `error ${err.code}` : String(r?.status)),
      );
    });
  } finally {
    client.close();
  }
}
