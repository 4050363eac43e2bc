import { Framing } from './framing.js';

/** The facts of a backend's answer head that decide its framing (a ResponseHead has them). */
export interface AnswerFacts {
  readonly status: number;
  /** 10 or 11. */
  readonly version: number;
  readonly chunked: boolean;
  /** -1 when the answer has no Content-Length. */
  readonly contentLength: number;
  /** `Connection: close` from the backend, or a body it ends by closing. */
  readonly connClose: boolean;
}

/**
 * How one answer travels to the client and what happens to both connections after it. One per
 * exchange, filled by answerFraming for each answer (nothing allocated per request).
 */
export class AnswerFraming {
  /** Framing.NONE, LENGTH, CHUNKED or CLOSE. */
  mode: number = Framing.NONE;
  /** The backend's socket may carry another request once this answer is over. */
  reusable = false;
  /** A chunked answer to an HTTP/1.0 client: decoded on the way, then the connection closes. */
  dechunk = false;
  /** The client connection stays open after this answer. */
  keepAlive = false;
}

/**
 * Decides the framing of an answer to a `method` request from a client speaking `clientVersion`
 * (10 or 11). `keepWanted`: the client connection could stay open as far as the request goes (the
 * client wants keep-alive, the proxy is not closing, the request body went whole, no 100-continue
 * is still pending, not an upgrade). The answer keeps it open only when it is framed for the client.
 */
export function answerFraming(out: AnswerFraming, method: string, clientVersion: number, resp: AnswerFacts, keepWanted: boolean): void {
  const status = resp.status;
  let mode: number;
  if (method === 'HEAD' || status === 204 || status === 304) mode = Framing.NONE;
  else if (resp.chunked) mode = Framing.CHUNKED;
  else if (resp.contentLength >= 0) mode = Framing.LENGTH;
  else mode = Framing.CLOSE;
  out.mode = mode;
  out.reusable = resp.version === 11 && !resp.connClose && mode !== Framing.CLOSE;
  out.dechunk = mode === Framing.CHUNKED && clientVersion === 10;
  out.keepAlive = keepWanted && mode !== Framing.CLOSE && !out.dechunk;
}
