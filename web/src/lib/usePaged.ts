import { useEffect, useState } from "react";
import { errorText, isAbort } from "./api";

export interface Paged<T> {
  rows: T[] | null; // null until the first page came
  hasNext: boolean;
  error: string | null;
}

/** One page of `pageSize` rows from `load` (which asks for one more, to know there is a next
 * page); asked again when `load` or `page` changes, the previous request aborted. `load` null:
 * nothing to ask yet (not signed in). */
export function usePaged<T>(
  load: ((page: number, pageSize: number, signal: AbortSignal) => Promise<{ items: T[] }>) | null,
  page: number,
  pageSize: number,
  what: string,
): Paged<T> {
  const [state, setState] = useState<Paged<T>>({ rows: null, hasNext: false, error: null });
  useEffect(() => {
    if (!load) return undefined;
    const abort = new AbortController();
    setState((old) => ({ ...old, error: null }));
    load(page, pageSize, abort.signal).then(
      (answer) => setState({ rows: answer.items.slice(0, pageSize), hasNext: answer.items.length > pageSize, error: null }),
      (err: unknown) => {
        if (!isAbort(err)) setState((old) => ({ ...old, error: `Could not read ${what}: ${errorText(err)}` }));
      },
    );
    return () => abort.abort();
  }, [load, page, pageSize, what]);
  return state;
}
