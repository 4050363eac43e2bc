import { InvalidRequestError } from '../errors.js';
import type { RolloutGates, RolloutPause, RolloutWebhook, WebhookType } from '../model/index.js';
import type { StartRollout } from '../rollout/index.js';
import { parseDuration } from '../util/index.js';
import type { RolloutGatesBodyT, RolloutStartBodyT } from './schemas.js';

/** A 400 naming the key path, as the schema's own failures do. */
const refuse = (path: string, message: string): InvalidRequestError => new InvalidRequestError(`body/${path} ${message}`, [{ path: `/${path}`, message }]);

const ms = (d: string | undefined): number | undefined => (d === undefined ? undefined : parseDuration(d));

function gatesOf(g: RolloutGatesBodyT | undefined, path: string): Partial<RolloutGates> {
  if (g === undefined) return {};
  (g.metrics ?? []).forEach((m, i) => {
    if (m.min === undefined && m.max === undefined) throw refuse(`${path}/metrics/${i}`, 'needs min or max: a metric gate without bounds judges nothing');
    if (m.min !== undefined && m.max !== undefined && m.min > m.max) throw refuse(`${path}/metrics/${i}`, 'has min above max');
  });
  const maxWaitMs = ms(g.maxWait);
  const intervalMs = ms(g.interval);
  if (intervalMs !== undefined && intervalMs < 500) throw refuse(`${path}/interval`, 'must be at least 500ms');
  return {
    ...(g.maxErrorRate !== undefined ? { maxErrorRate: g.maxErrorRate } : {}),
    ...(g.maxP99Ms !== undefined ? { maxP99Ms: g.maxP99Ms } : {}),
    ...(g.minRequests !== undefined ? { minRequests: g.minRequests } : {}),
    ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
    ...(g.baseline !== undefined ? { baseline: g.baseline } : {}),
    ...(intervalMs !== undefined ? { intervalMs } : {}),
    ...(g.failureThreshold !== undefined ? { failureThreshold: g.failureThreshold } : {}),
    ...(g.metrics !== undefined ? { metrics: g.metrics } : {}),
  };
}

function webhooksOf(body: RolloutStartBodyT): RolloutWebhook[] {
  return (body.webhooks ?? []).map((w, i) => {
    let url: URL;
    try {
      url = new URL(w.url);
    } catch {
      throw refuse(`webhooks/${i}/url`, 'must be an http:// or https:// URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`webhooks/${i}/url`, 'must be an http:// or https:// URL');
    if (url.username !== '' || url.password !== '') throw refuse(`webhooks/${i}/url`, 'must not carry credentials (use metadata or a header-less token in the path)');
    if ((body.webhooks ?? []).findIndex((o) => o.name === w.name) !== i) throw refuse(`webhooks/${i}/name`, `"${w.name}" is used twice`);
    return { name: w.name, type: w.type as WebhookType, url: url.href, timeoutMs: ms(w.timeout) ?? 10_000, ...(w.metadata !== undefined ? { metadata: w.metadata } : {}) };
  });
}

/**
 * A start body, past its schema, as the controller's input: pause steps taken out of the percents,
 * durations parsed, and what the schema cannot say refused with the key path (a metric without
 * bounds, a blue-green body with steps or a pause, a leading pause).
 */
export function startOf(body: RolloutStartBodyT): StartRollout {
  const webhooks = webhooksOf(body);
  const m = body.mirror;
  const mirror = m !== undefined ? { mirror: { percent: m.percent, durationMs: ms(m.duration) ?? 60_000 } } : {};
  if (body.strategy === 'blueGreen') {
    const i = (body.steps ?? []).findIndex((s) => typeof s !== 'number');
    if (i >= 0) throw refuse(`steps/${i}`, 'is a pause: a blue-green rollout has no pauses (one flip, then postPromotion)');
    if (body.steps !== undefined) throw refuse('steps', 'is not for a blue-green rollout: it flips once to 100%, then judges postPromotion');
    if (body.stepDuration !== undefined) throw refuse('stepDuration', 'is not for a blue-green rollout: use postPromotion.duration');
    if (body.gates !== undefined) throw refuse('gates', 'is not for a blue-green rollout: use postPromotion.gates');
    if (body.postPromotion === undefined) throw refuse('postPromotion', 'is required with strategy "blueGreen"');
    return {
      pool: body.pool,
      strategy: 'blueGreen',
      steps: [100],
      stepDurationMs: ms(body.postPromotion.duration) ?? 60_000,
      gates: gatesOf(body.postPromotion.gates, 'postPromotion/gates'),
      webhooks,
      ...mirror,
    };
  }
  if (body.postPromotion !== undefined) throw refuse('postPromotion', 'is for strategy "blueGreen" only');
  if (body.steps === undefined) throw refuse('steps', 'is required (e.g. [1, 5, 25, 100])');
  if (body.stepDuration === undefined) throw refuse('stepDuration', 'is required (e.g. "60s")');
  const steps: number[] = [];
  const pauses: RolloutPause[] = [];
  body.steps.forEach((s, i) => {
    if (typeof s === 'number') {
      steps.push(s);
      return;
    }
    if (steps.length === 0) throw refuse(`steps/${i}`, 'is a pause before any step: start with a percent');
    if (pauses.some((p) => p.before === steps.length)) throw refuse(`steps/${i}`, 'is a second pause in a row');
    const d = s.pause === true ? undefined : ms(s.pause);
    pauses.push({ before: steps.length, ...(d !== undefined ? { ms: d } : {}) });
  });
  if (steps.length === 0) throw refuse('steps', 'needs at least one percent');
  return { pool: body.pool, steps, stepDurationMs: ms(body.stepDuration) ?? 60_000, gates: gatesOf(body.gates, 'gates'), pauses, webhooks, ...mirror };
}
