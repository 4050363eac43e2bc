import { Exchange } from './exchange.js';
import { BodyTracker } from './framing.js';
import { RequestHead } from './head.js';

/**
 * What a connection needs only while it parses or answers a request: the head, the body tracker
 * and the exchange. The server pools them, so an idle keep-alive connection holds none.
 */
export class RequestSlot {
  readonly head = new RequestHead();
  readonly reqBody = new BodyTracker();
  readonly exchange = new Exchange();
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
