/** A local event with its reason, for `GET /v1/services/:svc/events`. */
export interface ServiceEvent {
  readonly time: string;
  /** health | ejected | ejection_end | drain_start | drain_deadline | drain_end | drain_cancelled | retries_exhausted | hold_start | hold_end */
  readonly type: string;
  readonly pool?: string | undefined;
  readonly backend?: string | undefined;
  readonly message: string;
  readonly details?: Record<string, unknown> | undefined;
}

/** The last `limit` events per service, oldest first. */
export class EventLog {
  private readonly byService = new Map<string, ServiceEvent[]>();

  constructor(private readonly limit: number) {}

  add(service: string, event: ServiceEvent): ServiceEvent {
    let list = this.byService.get(service);
    if (list === undefined) {
      list = [];
      this.byService.set(service, list);
    }
    list.push(event);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    return event;
  }

  list(service: string): readonly ServiceEvent[] {
    return this.byService.get(service) ?? [];
  }
}
