/**
 * The rollout's outside calls, each behind a small port the controller is given: webhooks (POST a
 * JSON payload, read the status) and PromQL instant queries. The HTTP implementations use undici
 * with a timeout per call and no retries (one call per check).
 */
import { createRequire } from 'node:module';
import type { request as Request } from 'undici';
import type { MetricGate, RolloutWebhook, WebhookAnswer } from '../model/index.js';

const requireLazy = createRequire(import.meta.url);
let undiciRequest: typeof Request | undefined;
/**
 * undici's request, loaded on the first call: a process that runs no rollout with webhooks or
 * metric gates never loads undici (about 4 MiB of heap; bench/README "Memory breakdown").
 */
const request: typeof Request = (...args) => {
  undiciRequest ??= (requireLazy('undici') as typeof import('undici')).request;
  return undiciRequest(...args);
};

/** SPEC "Rollouts": what turnout POSTs to every webhook. */
export interface WebhookPayload {
  readonly service: string;
  readonly pool: string;
  readonly rollout: string;
  readonly type: string;
  readonly step: number;
  readonly percent: number;
  readonly readings: unknown;
  readonly metadata: Readonly<Record<string, string>>;
}

export type WebhookPort = (hook: RolloutWebhook, payload: WebhookPayload) => Promise<WebhookAnswer>;

/** One PromQL instant query: the number, or why there is none. */
export type MetricPort = (gate: MetricGate) => Promise<{ readonly value?: number; readonly error?: string }>;

/** A URL as it may be logged or shown: origin and path, never the query string or credentials. */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

const messageOf = (err: unknown): string => {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED') return 'timed out';
  return e.code ?? e.message ?? String(err);
};

/** POSTs the payload; the answer is the status (the body is read and dropped). */
export const httpWebhook: WebhookPort = async (hook, payload) => {
  const started = Date.now();
  try {
    const res = await request(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'turnout-rollout' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(hook.timeoutMs),
    });
    await res.body.dump();
    return { name: hook.name, type: hook.type, status: res.statusCode, ms: Date.now() - started };
  } catch (err) {
    return { name: hook.name, type: hook.type, error: messageOf(err), ms: Date.now() - started };
  }
};

interface PromAnswer {
  readonly status?: string;
  readonly error?: string;
  readonly data?: { readonly resultType?: string; readonly result?: unknown };
}

/** The one number of an instant query's answer, or why there is none. */
export function numberOf(a: PromAnswer): { readonly value?: number; readonly error?: string } {
  if (a.status !== 'success') return { error: `query failed: ${a.error ?? 'no answer'}` };
  const { resultType, result } = a.data ?? {};
  let raw: unknown;
  if (resultType === 'scalar' && Array.isArray(result)) raw = result[1];
  else if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length !== 1) return { error: `no number: the query returned ${result.length} series` };
    raw = (result[0] as { value?: unknown[] }).value?.[1];
  } else return { error: `no number: the query returned a ${resultType ?? 'nothing'}` };
  const value = typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(value) ? { value } : { error: `no number: the query returned ${String(raw)}` };
}

/** PromQL against `rollouts.prometheus.url` (GET /api/v1/query) with a timeout. */
export function prometheusMetrics(baseUrl: string, timeoutMs: number): MetricPort {
  return async (gate) => {
    try {
      const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
      url.searchParams.set('query', gate.query);
      const res = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.body.text();
      let body: PromAnswer;
      try {
        body = JSON.parse(text) as PromAnswer;
      } catch {
        return { error: `query failed: Prometheus answered ${res.statusCode} without JSON` };
      }
      return numberOf(body);
    } catch (err) {
      return { error: `Prometheus unreachable at ${safeUrl(baseUrl)}: ${messageOf(err)}` };
    }
  };
}

/** Without `rollouts.prometheus.url`, every metric gate fails with this reason. */
export const noPrometheus: MetricPort = () => Promise.resolve({ error: 'rollouts.prometheus.url is not configured' });

/**
 * Mirroring as a rollout's mirror-first phase needs it (SPEC "Mirroring"). The app wires it to the
 * mirror state command and the mirrored pool's window (localMirror).
 */
export interface MirrorPort {
  /** Copies of `percent` % of the service's live traffic to `pool`; `null` stops them. */
  set(service: string, mirror: { readonly pool: string; readonly percent: number } | null): Promise<void>;
  /** The mirrored copies' cumulative answers of `pool` (requests; errors: 5xx and failed copies), fleet-wide. */
  totals(service: string, pool: string): { readonly requests: number; readonly errors: number };
  /** p99 (ms) of the mirrored copies' answers over the last `seconds`. */
  p99Ms(service: string, pool: string, nowMs: number, seconds: number): number;
}
