import { signal } from '@preact/signals';
import { token } from './api';
import { openStream, type Stream } from './ws';

/** Bumped on every container event from /api/events/ws: pages that show containers reload their list. */
export const containerEvents = signal(0);
/** Whether the event stream is connected (shown as "live"). */
export const live = signal(false);

let stream: Stream | null = null;
let retry: ReturnType<typeof setTimeout> | undefined;
let backoff = 1000;
let wanted = false;

async function connect(): Promise<void> {
  if (!wanted || !token.value) return;
  try {
    stream = await openStream('/api/events/ws', {
      onOpen: () => {
        live.value = true;
        backoff = 1000;
      },
      onFrame: (f) => {
        if (f.type === 'event') containerEvents.value++;
      },
      onClose: () => {
        live.value = false;
        stream = null;
        schedule();
      },
    });
  } catch {
    schedule();
  }
}

function schedule(): void {
  if (!wanted) return;
  clearTimeout(retry);
  retry = setTimeout(() => void connect(), backoff);
  backoff = Math.min(backoff * 2, 30_000);
}

/** Keeps one event stream open while signed in. */
export function startLive(): void {
  if (wanted) return;
  wanted = true;
  void connect();
}

export function stopLive(): void {
  wanted = false;
  clearTimeout(retry);
  stream?.close();
  stream = null;
  live.value = false;
}
