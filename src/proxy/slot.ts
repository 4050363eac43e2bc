import { Exchange } from './exchange.js';
import { BodyTracker } from './framing.js';
import { HoldTicket } from './hold-ticket.js';
import { RequestHead } from './head.js';

/**
 * What a connection needs only while it parses or answers a request: the head, the body tracker,
 * the exchange and its place in a hold queue. The server pools them, so an idle keep-alive
 * connection holds none.
 */
export class RequestSlot {
  readonly head = new RequestHead();
  readonly reqBody = new BodyTracker();
  readonly exchange = new Exchange();
  readonly hold = new HoldTicket();
}

/** Free slots kept for reuse; beyond this they are left to the garbage collector. */
const MAX_FREE = 1024;

export class SlotPool {
  private readonly free: RequestSlot[] = [];

  take(): RequestSlot {
    return this.free.pop() ?? new RequestSlot();
  }

  give(slot: RequestSlot): void {
    if (this.free.length < MAX_FREE) this.free.push(slot);
  }
}
