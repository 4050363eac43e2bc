import net from 'node:net';
import { onTestFinished } from 'vitest';

/*
 * A tiny HTTP/2 frame writer and reader for attack tests (RFC 9113 §4.1): raw frames from a net
 * socket, so a test can send what no well-behaved client would. Header blocks use HPACK indexed
 * fields and literals without indexing with raw (non-Huffman) strings only (RFC 7541 §6.1, §6.2.2):
 * no dynamic table, nothing to get wrong.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
/** Error codes (RFC 9113 §7) by number, for messages. */
export const ERROR_NAMES: Record<number, string> = {
  0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR', 4: 'SETTINGS_TIMEOUT', 5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL', 9: 'COMPRESSION_ERROR', 10: 'CONNECT_ERROR', 11: 'ENHANCE_YOUR_CALM',
  12: 'INADEQUATE_SECURITY', 13: 'HTTP_1_1_REQUIRED',
};

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1), first byte ORed with `mask`. */
function hpackInt(value: number, prefixBits: number, mask: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([mask | value]);
  const out = [mask | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

const str = (s: string): Buffer => Buffer.concat([hpackInt(Buffer.byteLength(s), 7, 0), Buffer.from(s, 'latin1')]);

/** A literal header field without indexing, new name (RFC 7541 §6.2.2). */
export function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), str(name), str(value)]);
}

/** `GET /` over http with this authority: static-table entries 2 (:method GET), 6 (:scheme http), 4 (:path /), then :authority (name index 1) as a literal. */
export function getRequestBlock(authority = '127.0.0.1', path = '/'): Buffer {
  const pathField = path === '/' ? Buffer.from([0x84]) : Buffer.concat([hpackInt(4, 4, 0x00), str(path)]);
  return Buffer.concat([Buffer.from([0x82, 0x86]), pathField, hpackInt(1, 4, 0x00), str(authority)]);
}

export const settingsFrame = (entries: readonly [number, number][] = []): Buffer => {
  const p = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
};
export const rstStream = (streamId: number, code = 8): Buffer => {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
};
export const ping = (n: number): Buffer => {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(n, 4);
  return frame(FrameType.PING, 0, 0, p);
};

export interface Goaway {
  readonly lastStreamId: number;
  readonly code: number;
  readonly name: string;
}

/** What the server did with a raw connection. */
export interface RawH2 {
  readonly socket: net.Socket;
  /** Frames the server sent, by type. */
  readonly received: Map<number, number>;
  /** Resolves when the server closed the connection (or reset it), with the GOAWAY it sent before, if any. */
  readonly closed: Promise<{ goaway: Goaway | undefined; error: string | undefined }>;
  /** Writes and resolves when the bytes were flushed, or the socket is gone. */
  write(buf: Buffer): Promise<boolean>;
}

/**
 * A raw client connection to 127.0.0.1:port that has sent the preface and an empty SETTINGS.
 * Incoming frames are parsed (counted, GOAWAY decoded) unless `read: false`: then the socket is not
 * read at all, as an attacker that never reads its ACKs.
 */
export async function rawH2(port: number, opts: { read?: boolean } = {}): Promise<RawH2> {
  const socket = net.connect(port, '127.0.0.1');
  onTestFinished(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received = new Map<number, number>();
  let goaway: Goaway | undefined;
  let error: string | undefined;
  let buf = Buffer.alloc(0);
  if (opts.read === false) socket.pause();
  else {
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3] as number;
        received.set(type, (received.get(type) ?? 0) + 1);
        if (type === FrameType.GOAWAY && goaway === undefined) {
          const code = buf.readUInt32BE(13);
          goaway = { lastStreamId: buf.readUInt32BE(9) & 0x7fffffff, code, name: ERROR_NAMES[code] ?? String(code) };
        }
        buf = buf.subarray(9 + len);
      }
    });
  }
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
  const closed = new Promise<{ goaway: Goaway | undefined; error: string | undefined }>((resolve) => socket.once('close', () => resolve({ goaway, error })));
  const write = (b: Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve(false);
      socket.write(b, (err) => resolve(err == null));
    });
  await write(Buffer.concat([PREFACE, settingsFrame()]));
  return { socket, received, closed, write };
}
