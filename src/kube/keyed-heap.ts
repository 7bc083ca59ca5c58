// A binary min-heap of keys ordered by a numeric priority, with an index from key to position so
// that replacing or removing one key costs O(log n) instead of a scan.

interface Entry<K> {
  key: K;
  priority: number;
  /** Insertion order: equal priorities come out first-in, first-out. */
  seq: number;
}

export class KeyedMinHeap<K> {
  #entries: Entry<K>[] = [];
  #positions = new Map<K, number>();
  #seq = 0;

  get size(): number {
    return this.#entries.length;
  }

  has(key: K): boolean {
    return this.#positions.has(key);
  }

  /** The key's priority, or undefined when it is not in the heap. */
  get(key: K): number | undefined {
    const i = this.#positions.get(key);
    return i === undefined ? undefined : this.#entries[i].priority;
  }

  /** Inserts the key, or moves it to its new priority if it is already present. */
  set(key: K, priority: number): void {
    const i = this.#positions.get(key);
    const seq = this.#seq++;
    if (i === undefined) {
      this.#entries.push({ key, priority, seq });
      this.#positions.set(key, this.#entries.length - 1);
      this.#up(this.#entries.length - 1);
      return;
    }
    const entry = this.#entries[i];
    entry.priority = priority;
    entry.seq = seq;
    this.#fix(i);
  }

  delete(key: K): boolean {
    const i = this.#positions.get(key);
    if (i === undefined) return false;
    this.#removeAt(i);
    return true;
  }

  peek(): { key: K; priority: number } | undefined {
    if (this.#entries.length === 0) return undefined;
    const head = this.#entries[0];
    return { key: head.key, priority: head.priority };
  }

  pop(): { key: K; priority: number } | undefined {
    if (this.#entries.length === 0) return undefined;
    const head = this.#entries[0];
    this.#removeAt(0);
    return { key: head.key, priority: head.priority };
  }

  clear(): void {
    this.#entries = [];
    this.#positions.clear();
  }

  #removeAt(i: number): void {
    const removed = this.#entries[i];
    const last = this.#entries.pop() as Entry<K>;
    this.#positions.delete(removed.key);
    if (i < this.#entries.length) {
      this.#entries[i] = last;
      this.#positions.set(last.key, i);
      this.#fix(i);
    }
  }

  #fix(i: number): void {
    if (!this.#up(i)) this.#down(i);
  }

  #less(a: Entry<K>, b: Entry<K>): boolean {
    return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  /** Sifts up; reports whether the entry moved. */
  #up(i: number): boolean {
    const start = i;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#entries[i], this.#entries[parent])) break;
      this.#swap(i, parent);
      i = parent;
    }
    return i !== start;
  }

  #down(i: number): void {
    const n = this.#entries.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.#less(this.#entries[left], this.#entries[smallest])) smallest = left;
      if (right < n && this.#less(this.#entries[right], this.#entries[smallest])) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }

  #swap(i: number, j: number): void {
    const a = this.#entries[i];
    const b = this.#entries[j];
    this.#entries[i] = b;
    this.#entries[j] = a;
    this.#positions.set(b.key, i);
    this.#positions.set(a.key, j);
  }
}
