import { useEffect, useState } from "react";

/** The time in unix seconds, updated every `everyMs` while `live` (a meter's tick). */
export function useNow(live: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    if (!live) return undefined;
    const timer = window.setInterval(() => setNow(Date.now() / 1000), everyMs);
    return () => window.clearInterval(timer);
  }, [live, everyMs]);
  return now;
}
