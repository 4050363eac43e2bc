import type { Logger } from 'pino';
import type { RolloutRecord, RolloutWebhook, WebhookAnswer } from '../model/index.js';
import { webhookOk } from '../model/index.js';
import { safeUrl } from './ports.js';
import type { WebhookPort } from './ports.js';

/** Where the rollout's events go (the runtime's event log: GET .../events, the stream). */
export type RolloutEventSink = (service: string, ev: { type: string; pool?: string; message: string; details?: Record<string, unknown> }) => void;

/**
 * Calls a rollout's webhooks of one type, each once (no retries), and puts every answer in the
 * service's events. URLs are shown as origin and path only.
 */
export class RolloutHooks {
  constructor(
    private readonly call: WebhookPort,
    private readonly events: RolloutEventSink | undefined,
    private readonly logger: Logger,
  ) {}

  /** Asked: the answers, for the decision. */
  async ask(service: string, r: RolloutRecord, type: RolloutWebhook['type'], readings: unknown): Promise<WebhookAnswer[]> {
    const hooks = (r.webhooks ?? []).filter((w) => w.type === type);
    return Promise.all(
      hooks.map(async (hook) => {
        const answer = await this.call(hook, {
          service,
          pool: r.pool,
          rollout: r.id,
          type,
          step: r.stepIndex + 1,
          percent: r.steps[r.stepIndex] ?? 0,
          readings: readings ?? null,
          metadata: hook.metadata ?? {},
        });
        this.record(service, r, hook, answer);
        return answer;
      }),
    );
  }

  /** Told, not asked: the answers only reach the events (and `then`, if given). */
  tell(service: string, r: RolloutRecord, type: RolloutWebhook['type'], readings: unknown, then?: (answers: WebhookAnswer[]) => Promise<void>): void {
    if (!(r.webhooks ?? []).some((w) => w.type === type)) return;
    void this.ask(service, r, type, readings)
      .then((answers) => then?.(answers))
      .catch((err: unknown) => this.logger.warn({ service, err: (err as Error).message }, 'recording webhook answers failed'));
  }

  private record(service: string, r: RolloutRecord, hook: RolloutWebhook, a: WebhookAnswer): void {
    const said = a.status !== undefined ? `answered ${a.status}` : `failed: ${a.error ?? 'no answer'}`;
    const details = { rollout: r.id, webhook: hook.name, type: hook.type, url: safeUrl(hook.url), ms: a.ms, ...(a.status !== undefined ? { status: a.status } : { error: a.error }) };
    if (this.events !== undefined) this.events(service, { type: 'rollout_webhook', pool: r.pool, message: `${hook.type} webhook "${hook.name}" ${said}`, details });
    else if (!webhookOk(a)) this.logger.warn({ service, ...details }, 'rollout webhook failed');
  }
}
