import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { onTestFinished } from 'vitest';
import { echoClient } from '../helpers/grpc.js';
import type { EchoClient } from '../helpers/grpc.js';

export interface MixedLoadResult {
  /** gRPC calls (unary and server streams) and plain HTTP/2 requests that completed. */
  calls: number;
  streams: number;
  requests: number;
  /** Plain requests sent again because the client had a GOAWAY or the stream was refused unprocessed. */
  retried: number;
  /** What failed, one line each. */
  failures: string[];
  /** Calls answered per backend id. */
  byBackend: Map<string, number>;
}

/**
 * A steady mixed load on turnout, bounded in time (and stopped by the caller): `clients` grpc-js
 * clients (one HTTP/2 connection each) looping unary calls and server streams (5 messages, 20 ms
 * apart), and as many HTTP/2 sessions looping plain GETs. Every failure is recorded.
 */
export function mixedLoad(proxyUrl: string, opts: { clients?: number; maxMs?: number; plain?: boolean } = {}): { stop(): Promise<MixedLoadResult>; readonly result: MixedLoadResult } {
  const n = opts.clients ?? 4;
  const end = Date.now() + (opts.maxMs ?? 20_000);
  let stopped = false;
  const result: MixedLoadResult = { calls: 0, streams: 0, requests: 0, retried: 0, failures: [], byBackend: new Map() };
  const count = (backend: string | undefined): void => {
    if (backend !== undefined) result.byBackend.set(backend, (result.byBackend.get(backend) ?? 0) + 1);
  };
  const clients: EchoClient[] = Array.from({ length: n }, () => echoClient(proxyUrl));
  const grpcLoop = async (c: EchoClient, i: number): Promise<void> => {
    for (let k = 0; !stopped && Date.now() < end; k++) {
      if ((k + i) % 3 === 2) {
        const r = await c.serverStream({ message: 's', count: 5 }, { metadata: { 'x-interval-ms': '20' } });
        if (r.status.code !== grpc.status.OK || r.replies.length !== 5) result.failures.push(`stream: ${r.status.code} ${r.status.details} (${r.replies.length} replies)`);
        else result.streams++;
        count(r.replies[0]?.backend);
      } else {
        const r = await c.unary({ message: 'u' });
        if (r.status.code !== grpc.status.OK) result.failures.push(`unary: ${r.status.code} ${r.status.details}`);
        else result.calls++;
        count(r.replies[0]?.backend);
      }
    }
  };
  /**
   * Plain GETs on one HTTP/2 session, reconnecting as a client does after a GOAWAY. A request the
   * client library would not send (the session had a GOAWAY) or the server refused unprocessed
   * (REFUSED_STREAM, a stream past the final GOAWAY) is sent again: HTTP/2 says both are safe to
   * retry, and neither is a lost stream.
   */
  const plainLoop = async (): Promise<void> => {
    let session: http2.ClientHttp2Session | undefined;
    const open = (): http2.ClientHttp2Session => {
      const s = http2.connect(proxyUrl);
      s.on('error', () => undefined);
      s.on('goaway', () => s.close());
      onTestFinished(() => void s.destroy());
      return s;
    };
    while (!stopped && Date.now() < end) {
      if (session === undefined || session.closed || session.destroyed) session = open();
      const s = session;
      const status = await new Promise<string>((resolve) => {
        let req: http2.ClientHttp2Stream;
        try {
          req = s.request({ ':path': '/plain', ':authority': 'plain.test' }, { endStream: true });
        } catch {
          return resolve('retry');
        }
        let st = '';
        req.on('response', (h) => (st = String(h[':status'])));
        req.on('error', (e: Error & { code?: string }) => resolve(e.code === 'ERR_HTTP2_GOAWAY_SESSION' || req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? 'retry' : `error ${e.message}`));
        req.on('close', () => {
          if (st === '' && req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) resolve('retry');
        });
        req.resume();
        req.on('end', () => resolve(st));
      });
      if (status === 'retry') {
        result.retried++;
        if (s === session) session = undefined;
        continue;
      }
      if (status !== '200') result.failures.push(`plain: ${status}`);
      else result.requests++;
    }
    session?.close();
  };
  const loops = [...clients.map((c, i) => grpcLoop(c, i)), ...(opts.plain === false ? [] : Array.from({ length: 2 }, () => plainLoop()))];
  const all = Promise.all(loops);
  onTestFinished(() => {
    stopped = true;
  });
  return {
    result,
    async stop() {
      stopped = true;
      await all;
      return result;
    },
  };
}
