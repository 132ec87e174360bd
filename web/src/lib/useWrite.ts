import { useCallback, useState } from "react";
import { writeErrorText } from "./transact";

export interface Write {
  busy: boolean;
  error: string | null;
  /** Runs `action` (one at a time); its failure becomes `error`, in plain words. */
  run(action: () => Promise<void>): Promise<void>;
}

/** A wallet write's state: busy while the wallet and the chain work, its error in words. */
export function useWrite(what: string): Write {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (action: () => Promise<void>) => {
      setBusy(true);
      setError(null);
      try {
        await action();
      } catch (err) {
        setError(writeErrorText(err, what));
      } finally {
        setBusy(false);
      }
    },
    [what],
  );
  return { busy, error, run };
}
