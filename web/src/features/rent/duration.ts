// The booking a renter types: hours and minutes, checked before anything is asked of the gateway.
import { fromBaseUnits, toBaseUnits } from "../../lib/format";

export const MAX_SECONDS = 90 * 24 * 3600; // the contract's longest booking (src/gpurent/limits.py)

/** Seconds for "hours" and "minutes" as typed, or the problem in words. */
export function bookedSeconds(hours: string, minutes: string): { seconds: number } | { problem: string } {
  const h = hours.trim() === "" ? 0 : Number(hours);
  const m = minutes.trim() === "" ? 0 : Number(minutes);
  if (!Number.isInteger(h) || h < 0 || !Number.isInteger(m) || m < 0) return { problem: "Hours and minutes are whole numbers, 0 or more." };
  const seconds = h * 3600 + m * 60;
  if (seconds <= 0) return { problem: "Book at least one minute." };
  if (seconds > MAX_SECONDS) return { problem: "One booking is at most 90 days: book less, and extend it later." };
  return { seconds };
}

/** What `seconds` cost at `pricePerHour` tokens, as the contract reckons it (rounded down), in tokens. */
export function costOf(pricePerHour: string, seconds: number): string | null {
  const price = toBaseUnits(pricePerHour);
  return price === null ? null : fromBaseUnits((price * BigInt(seconds)) / 3600n);
}

/** A CID as the gateway takes one (it checks it exactly): letters and digits, 10 to 128. */
export function cidProblem(cid: string, empty = "Enter the CID of an image (gpurent images push) or of a job definition."): string | null {
  if (!cid.trim()) return empty;
  return /^[A-Za-z0-9]{10,128}$/.test(cid.trim()) ? null : "A CID is 10 to 128 letters and digits (like bafy…).";
}
