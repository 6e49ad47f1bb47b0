/** Maps `items` through `task` with at most `limit` tasks in flight; results keep input order. */
export async function mapWithConcurrency<Item, Result>(
  items: readonly Item[],
  limit: number,
  task: (item: Item, index: number) => Promise<Result> | Result,
): Promise<Result[]> {
  const results = new Array<Result>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  }
  const workers: Promise<void>[] = [];
  for (let count = 0; count < Math.min(limit, items.length); count++) workers.push(worker());
  await Promise.all(workers);
  return results;
}
