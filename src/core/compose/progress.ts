import { Channel } from '../channel.js';

export type ProgressEvent =
  | { type: 'start'; action: string }
  | { type: 'line'; text: string }
  | { type: 'done'; action: string; ok: boolean; error?: string };

/** Lines of a running action kept for late subscribers. */
const REPLAY_LINES = 500;
/** Events queued for one slow subscriber before older lines are dropped. */
const SUBSCRIBER_QUEUE = 1000;

interface Topic {
  /** The running action's events so far (start + lines), for replay; null when idle. */
  current: ProgressEvent[] | null;
  droppedFromReplay: number;
  subscribers: Set<Channel<ProgressEvent>>;
}

/**
 * The progress of compose actions, per project: what the running action printed so far
 * (bounded) is replayed to a new subscriber, then every event live. A subscription stays
 * open across actions until the consumer stops iterating; memory stays bounded for slow ones.
 */
export class ProgressBus {
  private readonly topics = new Map<string, Topic>();

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = { current: null, droppedFromReplay: 0, subscribers: new Set() }));
    return t;
  }

  private gc(name: string, t: Topic): void {
    if (t.current === null && t.subscribers.size === 0) this.topics.delete(name);
  }

  publish(name: string, event: ProgressEvent): void {
    const t = this.topic(name);
    if (event.type === 'start') {
      t.current = [event];
      t.droppedFromReplay = 0;
    } else if (event.type === 'line' && t.current) {
      t.current.push(event);
      if (t.current.length > REPLAY_LINES) {
        t.current.splice(1, 1);
        t.droppedFromReplay++;
      }
    }
    for (const ch of t.subscribers) {
      // A subscriber that falls this far behind loses lines, never start/done.
      if (event.type === 'line' && ch.size >= SUBSCRIBER_QUEUE) continue;
      ch.push(event);
    }
    if (event.type === 'done') {
      t.current = null;
      this.gc(name, t);
    }
  }

  subscribe(name: string): AsyncIterable<ProgressEvent> {
    const t = this.topic(name);
    const ch: Channel<ProgressEvent> = new Channel<ProgressEvent>({
      onClose: () => {
        t.subscribers.delete(ch);
        this.gc(name, t);
      },
    });
    if (t.current) {
      const [start, ...lines] = t.current;
      if (start) ch.push(start);
      if (t.droppedFromReplay > 0) ch.push({ type: 'line', text: `[${t.droppedFromReplay} earlier lines not shown]` });
      for (const l of lines) ch.push(l);
    }
    t.subscribers.add(ch);
    return ch;
  }

  /** Subscribers currently listening to a project (for tests and diagnostics). */
  listeners(name: string): number {
    return this.topics.get(name)?.subscribers.size ?? 0;
  }
}
