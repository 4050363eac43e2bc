import type { ResponseHead } from './head.js';

/**
 * Body bytes up to this size are copied behind the head into one buffer (Node's allocation pool
 * serves it, one write); larger ones go out as a second buffer of the same corked write (writev),
 * never copied: a 64 KiB copy and a fresh 64 KiB allocation per answer cost more than the write.
 */
export const INLINE_BODY = 2048;

/** The socket calls a head write makes (a net.Socket or tls.TLSSocket; a fake in tests). */
export interface HeadSink {
  cork(): void;
  uncork(): void;
  write(data: Buffer): boolean;
}

/**
 * Sends a request head with the body bytes that came with it: `head` already holds them when
 * there are at most INLINE_BODY (rewrite copied them in); more go as a second buffer, corked.
 */
export function writeRequest(socket: HeadSink, head: Buffer, body: Buffer, bodyStart: number, bodyEnd: number): void {
  if (bodyEnd - bodyStart <= INLINE_BODY) {
    socket.write(head);
    return;
  }
  socket.cork();
  socket.write(head);
  socket.write(body.subarray(bodyStart, bodyEnd));
  socket.uncork();
}

/**
 * Sends an answer's rewritten head (`newHead`) and its first body bytes `data[end..bodyEnd)`,
 * where `data[resp.start..end)` is the backend's head. False when the client's socket is full.
 */
export function writeAnswer(socket: HeadSink, resp: ResponseHead, newHead: Buffer, data: Buffer, end: number, bodyEnd: number): boolean {
  if (newHead.length <= end - resp.start) {
    // The usual case: the rewritten head is no longer than the backend's (hop-by-hop lines went
    // out). It takes the old head's place in the receive buffer, which is ours, and the answer
    // leaves as one contiguous slice: no copy of the body, no writev.
    const at = end - newHead.length;
    newHead.copy(data, at);
    return socket.write(data.subarray(at, bodyEnd));
  }
  // Longer (a backend that sends no Connection line, a sticky Set-Cookie): the head built once,
  // a small body copied behind it.
  if (bodyEnd === end) return socket.write(newHead);
  if (bodyEnd - end <= INLINE_BODY) {
    const out = Buffer.allocUnsafe(newHead.length + bodyEnd - end);
    newHead.copy(out, 0);
    data.copy(out, newHead.length, end, bodyEnd);
    return socket.write(out);
  }
  socket.cork();
  socket.write(newHead);
  const ok = socket.write(data.subarray(end, bodyEnd));
  socket.uncork();
  return ok;
}
