/** `fn` over `items`, at most `limit` at a time; the results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** A promise per key, made once: concurrent asks for the same key share one request. */
export class Once<V> {
  private readonly made = new Map<string, Promise<V>>();
  constructor(private readonly make: (key: string) => Promise<V>) {}
  get(key: string): Promise<V> {
    let p = this.made.get(key);
    if (p === undefined) {
      p = this.make(key);
      this.made.set(key, p);
    }
    return p;
  }
}
