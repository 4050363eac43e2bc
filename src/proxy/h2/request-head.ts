/**
 * An HTTP/2 request's header list as the HTTP/1.1 head the engine parses (SPEC "HTTP/2 and
 * gRPC": every rule of the request path holds per stream). Pure: the stream's raw headers in,
 * latin1 head bytes out. The engine's own parser then checks and rewrites this head exactly as it
 * does a client's (routing, X-Forwarded-*, X-Request-Id, hop-by-hop, limits).
 */

/** How the stream's body reaches the engine. */
export const BodyForm = {
  /** END_STREAM came with the headers: no body. */
  NONE: 0,
  /** content-length was given: the DATA bytes pass as they are. */
  LENGTH: 1,
  /** No length: the DATA frames go as chunks of a chunked body. */
  CHUNKED: 2,
} as const;
export type BodyFormKind = (typeof BodyForm)[keyof typeof BodyForm];

export interface TranslatedHead {
  readonly head: Buffer;
  readonly body: BodyFormKind;
  readonly method: string;
  /** The request's content-type and grpc-timeout (a gRPC call's), read on the same pass. */
  readonly contentType: string | undefined;
  readonly grpcTimeout: string | undefined;
}

/**
 * Fields that never go on as they came: connection-specific ones (RFC 9113 §8.2.2, which nghttp2
 * refuses anyway), `host` (`:authority` wins), and `cookie` (its crumbs are joined into one line).
 */
const SKIP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'cookie', 'http2-settings']);

/**
 * `raw` is node:http2's flat [name, value, ...] list (names lower case, pseudo-headers first).
 * The head asks for `connection: close`: one stream is one request on its own engine
 * connection, which ends with the answer.
 */
export function translateRequestHead(raw: readonly string[], endStream: boolean): TranslatedHead {
  let method = 'GET';
  let path = '/';
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  let hasLength = false;
  let contentType: string | undefined;
  let grpcTimeout: string | undefined;
  let lines = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      continue;
    }
    if (SKIP.has(name)) {
      if (name === 'host') host = value;
      else if (name === 'cookie') cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === 'content-length') hasLength = true;
    else if (name === 'content-type') contentType ??= value;
    else if (name === 'grpc-timeout') grpcTimeout ??= value;
    lines += `${name}: ${value}\r\n`;
  }
  const body = endStream ? BodyForm.NONE : hasLength ? BodyForm.LENGTH : BodyForm.CHUNKED;
  const hostValue = authority ?? host;
  let text = `${method} ${path} HTTP/1.1\r\n`;
  if (hostValue !== undefined) text += `host: ${hostValue}\r\n`;
  text += lines;
  if (cookie !== undefined) text += `cookie: ${cookie}\r\n`;
  if (body === BodyForm.CHUNKED) text += 'transfer-encoding: chunked\r\n';
  text += 'connection: close\r\n\r\n';
  return { head: Buffer.from(text, 'latin1'), body, method, contentType, grpcTimeout };
}

/** The size line of one chunk of a chunked body. */
export function chunkSizeLine(length: number): Buffer {
  return Buffer.from(`${length.toString(16)}\r\n`, 'latin1');
}

export const CRLF = Buffer.from('\r\n', 'latin1');

/** The last chunk, with the stream's trailers (if any) as the trailer section. */
export function lastChunk(trailers: readonly string[] | undefined): Buffer {
  let text = '0\r\n';
  if (trailers !== undefined) {
    for (let i = 0; i + 1 < trailers.length; i += 2) {
      const name = trailers[i] as string;
      if (name.charCodeAt(0) !== 0x3a) text += `${name}: ${trailers[i + 1] as string}\r\n`;
    }
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}
