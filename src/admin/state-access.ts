import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceConfig } from '../config/index.js';
import { NotFoundError } from '../errors.js';
import type { Command, ServiceRecord, StateSnapshot } from '../model/index.js';
import type { ControlPlane, Runtime } from '../runtime/index.js';
import { writeOptions } from './request-context.js';
import type { WriteFlags } from './request-context.js';
import type { BackendView, ServiceView } from './schemas.js';

/** A state a write produced, or would produce on a dry run. */
export interface Written {
  readonly state: StateSnapshot;
  readonly dryRun: boolean;
}

/** Answers with the `ETag` of `revision` and no caching: every admin answer is a state at a revision. */
export function sendState(reply: FastifyReply, revision: number, body: object, code = 200): FastifyReply {
  return reply.code(code).header('etag', `"${revision}"`).header('cache-control', 'no-store').send(body);
}

/**
 * What the service and backend routes share: lookups in a state that answer 404 for what is not
 * there, views shaped as the response schemas, and writes through the control plane.
 */
export class StateAccess {
  constructor(
    private readonly runtime: Runtime,
    private readonly control: ControlPlane,
  ) {}

  /** A configured service of `state` (the current one by default); 404 otherwise. */
  service(name: string, state: StateSnapshot = this.control.current): ServiceRecord {
    return this.lookup(name, state).svc;
  }

  /** The service's drain timeout from the config (which sets its default); 404 for an unknown service. */
  drainTimeoutMs(name: string): number {
    return this.lookup(name, this.control.current).settings.drainTimeoutMs;
  }

  private lookup(name: string, state: StateSnapshot): { svc: ServiceRecord; settings: ServiceConfig } {
    // Own properties only: "constructor" or "toString" are names nobody configured.
    const svc = Object.hasOwn(state.services, name) ? state.services[name] : undefined;
    const settings = this.runtime.settings(name);
    if (svc === undefined || settings === undefined) throw new NotFoundError(`service "${name}" does not exist`);
    return { svc, settings };
  }

  /** The configured services of the current state, in state order. */
  services(): ServiceView[] {
    const state = this.control.current;
    return Object.keys(state.services)
      .filter((name) => this.runtime.settings(name) !== undefined)
      .map((name) => this.serviceView(name, state));
  }

  serviceView(name: string, state: StateSnapshot = this.control.current): ServiceView {
    const svc = this.service(name, state);
    const pools: ServiceView['pools'] = {};
    for (const [p, pool] of Object.entries(svc.pools)) pools[p] = { backends: pool.backends.map((b) => this.runtime.viewOfRecord(name, b)) };
    return { name, split: svc.split, pools, ...(svc.mirror !== undefined ? { mirror: { ...svc.mirror, methods: [...svc.mirror.methods] } } : {}) };
  }

  backendView(svc: string, pool: string, id: string, state: StateSnapshot = this.control.current): BackendView {
    const s = this.service(svc, state);
    const p = Object.hasOwn(s.pools, pool) ? s.pools[pool] : undefined;
    if (p === undefined) throw new NotFoundError(`pool "${pool}" does not exist in service "${svc}"`);
    const b = p.backends.find((x) => x.id === id);
    if (b === undefined) throw new NotFoundError(`backend "${id}" does not exist in ${svc}/${pool}`);
    return this.runtime.viewOfRecord(svc, b);
  }

  /** Runs a write command with the request's actor, If-Match and flags. */
  async write(req: FastifyRequest, cmd: Command, flags: WriteFlags): Promise<Written> {
    const options = writeOptions(req, flags);
    const result = await this.control.execute(cmd, options);
    return { state: result.state, dryRun: options.dryRun === true };
  }

  /**
   * Answers a write. The body carries the revision the write produced (or would produce); the
   * ETag is the revision the state has now, which a dry run left as it was.
   */
  sendWritten(reply: FastifyReply, written: Written, body: object, code = 200): FastifyReply {
    return sendState(reply, written.dryRun ? this.control.current.revision : written.state.revision, body, code);
  }
}
