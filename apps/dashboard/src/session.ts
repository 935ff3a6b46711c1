import { HourglassClient } from '@hourglass/client';

/**
 * The API key lives in sessionStorage: it survives a reload and is gone when the tab closes, and no other site can
 * read it. The sign-in link `pnpm start` prints carries it in the URL's fragment (`/ui/#key=…`), which browsers
 * never send to a server; it is read once at start and removed from the address bar, so it is not in history.
 */
const STORAGE_KEY = 'hourglass.apiKey';

export function takeKeyFromFragment(): void {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const key = fragment.get('key');
  if (!key) return;
  sessionStorage.setItem(STORAGE_KEY, key);
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
}

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** A client of the orchestrator that served the page, with the key (none when authentication is off). */
export function clientFor(key: string | null): HourglassClient {
  return new HourglassClient({
    url: window.location.origin,
    ...(key ? { apiKey: key } : {}),
    // A person is waiting: a failed read shows at once (and is asked again on the next refresh) rather than after
    // retries with backoff.
    retry: { retries: 1, maxRetryAfterMs: 5_000 },
    timeoutMs: 15_000,
  });
}
