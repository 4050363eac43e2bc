/**
 * The per-service queue of requests waiting for a backend (SPEC "Hold and limits"): first in,
 * first out; a request that was tried and failed before any byte reached a backend goes back to
 * the front, so arrival order holds; one that leaves (its client closed, its time ran out) is
 * removed wherever it stands. Pure bookkeeping: the server owns timers and dispatch.
 */
export class HoldQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Requests waiting now. */
  size = 0;

  push(item: T): void {
    this.items.push(item);
    this.size++;
  }

  /** Back to the front: it arrived before everything still waiting. */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
    this.size++;
  }

  /** The oldest waiting request, or undefined. */
  peek(): T | undefined {
    this.skipHoles();
    return this.items[this.head];
  }

  shift(): T | undefined {
    this.skipHoles();
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    this.size--;
    this.compact();
    return item;
  }

  /** Removes `item` wherever it stands; false when it was not waiting. */
  remove(item: T): boolean {
    const i = this.items.indexOf(item, this.head);
    if (i < 0) return false;
    this.items[i] = undefined;
    this.size--;
    this.compact();
    return true;
  }

  private skipHoles(): void {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
  }

  private compact(): void {
    if (this.size === 0) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** What the server keeps per service while requests wait; counts for the start/stop events. */
export interface HoldStats {
  /** When the queue went from empty to waiting (ms, performance.now()). */
  since: number;
  /** Requests that waited and then went to a backend. */
  served: number;
  timedOut: number;
  /** Longest wait among those that left (ms). */
  longestMs: number;
}
