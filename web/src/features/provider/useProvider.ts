import { useEffect, useState } from "react";
import { errorText, isAbort } from "../../lib/api";
import { fetchProvider, type ProviderBoard } from "./api";

export const INDEX_WAIT_MS = 500; // between reads while the index catches up with a write
export const INDEX_TRIES = 40;

/** The provider dashboard of `address` (null: no wallet connected), asked again when it
 * changes or when `block` does: read again (a few times a second, for up to 20 s) until the
 * index has reached `block`, the block of the dashboard's last write. */
export function useProvider(address: string | null, block = 0): { board: ProviderBoard | null; error: string | null; behind: boolean } {
  const [state, setState] = useState<{ board: ProviderBoard | null; error: string | null; behind: boolean }>({ board: null, error: null, behind: false });
  useEffect(() => setState({ board: null, error: null, behind: false }), [address]); // another address: nothing shown yet
  useEffect(() => {
    if (!address) return undefined;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = (tries: number) =>
      fetchProvider(address.toLowerCase(), abort.signal).then(
        (board) => {
          const behind = (board.indexedBlock ?? block) < block;
          setState({ board, error: null, behind: behind && tries >= INDEX_TRIES });
          if (behind && tries < INDEX_TRIES) timer = setTimeout(() => void read(tries + 1), INDEX_WAIT_MS);
        },
        (err: unknown) => !isAbort(err) && setState({ board: null, error: errorText(err), behind: false }),
      );
    void read(1);
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [address, block]);
  return state;
}
