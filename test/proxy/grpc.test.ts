import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import {
  GRPC_STATUS_NAMES,
  decodeGrpcMessage,
  encodeGrpcMessage,
  formatGrpcTimeout,
  grpcErrorHeaders,
  grpcStatusName,
  isGrpc,
  isGrpcError,
  parseGrpcStatus,
  parseGrpcTimeout,
  remainingGrpcTimeout,
} from '../../src/proxy/grpc.js';
import type { ProxyErrorCode } from '../../src/errors.js';

describe('the gRPC status table', () => {
  test('matches @grpc/grpc-js, code for code', () => {
    const theirs = Object.entries(GrpcStatus).filter(([, v]) => typeof v === 'number') as [string, number][];
    expect(theirs.length).toBe(17);
    for (const [name, code] of theirs) expect(grpcStatusName(code)).toBe(name);
    expect(GRPC_STATUS_NAMES.length).toBe(17);
    expect(grpcStatusName(17)).toBeUndefined();
  });

  test.each([
    [0, false], [1, false], [2, true], [3, false], [4, true], [5, false], [7, false], [8, false],
    [12, false], [13, true], [14, true], [15, true], [16, false], [99, false],
  ])('status %i counts as an error: %s', (code, error) => {
    expect(isGrpcError(code)).toBe(error);
  });

  test.each([
    ['0', 0], ['14', 14], ['116', 116], [undefined, undefined], ['', undefined], ['1x', undefined], ['-1', undefined], ['1000', undefined], [' 1', undefined],
  ])('grpc-status %j parses as %j', (value, code) => {
    expect(parseGrpcStatus(value)).toBe(code);
  });
});

describe("turnout's own answers to gRPC requests", () => {
  test.each([
    ['no_backend', '14', 'UNAVAILABLE'],
    ['upstream_error', '14', 'UNAVAILABLE'],
    ['upstream_timeout', '4', 'DEADLINE_EXCEEDED'],
    ['no_route', '12', 'UNIMPLEMENTED'],
    ['unsupported_protocol', '12', 'UNIMPLEMENTED'],
  ] as [ProxyErrorCode, string, string][])('%s is grpc-status %s %s, trailers-only', (code, status, name) => {
    const h = grpcErrorHeaders(code);
    expect(h[':status']).toBe(200);
    expect(h['content-type']).toBe('application/grpc');
    expect(h['grpc-status']).toBe(status);
    expect(grpcStatusName(Number(h['grpc-status']))).toBe(name);
    expect(h['x-turnout-error']).toBe(code);
    expect(h['grpc-message']).toMatch(/^turnout: /);
    expect(h['x-request-id']).toBeUndefined();
    // Shared and frozen: no allocation per answer, and nobody can change the next one.
    expect(grpcErrorHeaders(code)).toBe(h);
    expect(Object.isFrozen(h)).toBe(true);
  });

  test('a request id is echoed on a copy', () => {
    const h = grpcErrorHeaders('no_backend', 'abc-1');
    expect(h['x-request-id']).toBe('abc-1');
    expect(h['grpc-status']).toBe('14');
    expect(grpcErrorHeaders('no_backend')['x-request-id']).toBeUndefined();
  });
});

describe('grpc-message percent-encoding', () => {
  test.each([
    ['plain ASCII stays', 'no backend', 'no backend'],
    ['percent is encoded', '100% down', '100%25 down'],
    ['control characters', 'a\nb\tc', 'a%0Ab%09c'],
    ['UTF-8 bytes', 'café ☕', 'caf%C3%A9 %E2%98%95'],
    ['DEL and space edges', ' ~\u007f', ' ~%7F'],
    ['empty', '', ''],
  ])('%s', (_what, message, encoded) => {
    expect(encodeGrpcMessage(message)).toBe(encoded);
    expect(decodeGrpcMessage(encoded)).toBe(message);
  });

  test.each([
    ['a lone percent stays', '50%', '50%'],
    ['a percent without hex stays', '%zz ok', '%zz ok'],
    ['lower-case hex decodes', '%c3%a9', 'é'],
  ])('decoding: %s', (_what, value, decoded) => {
    expect(decodeGrpcMessage(value)).toBe(decoded);
  });
});

describe('grpc-timeout', () => {
  test.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['5S', 5000],
    ['100m', 100],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['99999999m', 99_999_999],
    ['0m', 0],
  ])('%s is %d ms', (value, ms) => {
    expect(parseGrpcTimeout(value)).toBeCloseTo(ms, 9);
  });

  test.each([
    [undefined], [''], ['m'], ['100'], ['100x'], ['100s'], ['123456789m'], ['1.5S'], ['-1S'], [' 1S'], ['1 S'],
  ])('%j is refused', (value) => {
    expect(parseGrpcTimeout(value)).toBeUndefined();
  });

  test.each([
    [2000, '2S'],
    [1500, '1500m'],
    [120_000, '2M'],
    [7_200_000, '2H'],
    [0.25, '250u'],
    [0.0015, '1500n'],
    [1, '1m'],
    [99_999_999, '99999999m'],
    // Not exact in any unit that fits 8 digits: the finest that fits, rounded up.
    [123_456_789.5, '123457S'],
    [0, '0H'],
  ])('%d ms is sent as %s', (ms, value) => {
    expect(formatGrpcTimeout(ms)).toBe(value);
    const back = parseGrpcTimeout(value) as number;
    expect(back).toBeGreaterThanOrEqual(ms);
  });

  test('formatting then parsing never shortens the time, and keeps 8 digits', () => {
    for (const ms of [0.000001, 0.3, 1.7, 33.3333, 999.9999, 86_400_000, 1e12]) {
      const value = formatGrpcTimeout(ms);
      expect(value).toMatch(/^[0-9]{1,8}[HMSmun]$/);
      expect(parseGrpcTimeout(value) as number).toBeGreaterThanOrEqual(ms * (1 - 1e-12));
    }
  });

  test('beyond 99999999 hours it is capped there', () => {
    expect(formatGrpcTimeout(3.6e14 * 2)).toBe('99999999H');
  });

  test.each([
    ['nothing spent', 1000, 0, '1S'],
    ['time spent in hold is taken off', 1000, 250, '750m'],
    ['a fraction left is rounded up, never to 0', 1000, 999.9995, '500n'],
    ['nothing left', 1000, 1000, undefined],
    ['overdue', 1000, 1200, undefined],
  ])('forwarded less the time already spent: %s', (_what, timeoutMs, spent, forwarded) => {
    expect(remainingGrpcTimeout(timeoutMs, 10_000, 10_000 + spent)).toBe(forwarded);
  });
});

describe('isGrpc', () => {
  test.each([
    ['application/grpc', true],
    ['application/grpc+proto', true],
    ['application/grpc+json', true],
    ['Application/GRPC', true],
    ['application/grpc; charset=utf-8', true],
    ['application/grpc-web', false],
    ['application/grpc-web+proto', false],
    ['application/grpcx', false],
    ['application/json', false],
    ['', false],
    [undefined, false],
  ])('%j: %s', (contentType, grpc) => {
    expect(isGrpc(contentType)).toBe(grpc);
  });
});
