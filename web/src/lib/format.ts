// Amounts and addresses for people: tokens, base units, short addresses, times.

/** `amount` base units of a token with `decimals` decimals as a decimal string, exact
 * (no float): 1500000000000000000n, 18 → "1.5". */
export function fromBaseUnits(amount: bigint, decimals = 18): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = decimals ? digits.slice(digits.length - decimals).replace(/0+$/, "") : "";
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** A decimal amount ("1234.5000") for display: thousands grouped, at most `places` decimals,
 * rounded down (a balance is never shown as more than it is). */
export function formatAmount(value: string, places = 4): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) return value;
  const [, sign = "", whole = "0", fraction = ""] = match;
  const grouped = whole.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const kept = fraction.slice(0, places).replace(/0+$/, "");
  return `${sign}${grouped}${kept ? `.${kept}` : ""}`;
}

export function formatTokens(value: string | null | undefined, symbol = "GPU"): string {
  return value === null || value === undefined || value === "" ? "—" : `${formatAmount(value)} ${symbol}`;
}

/** 0x1234…abcd */
export function shortAddress(address: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(address) ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

export function formatTime(unixSeconds: number | null | undefined): string {
  if (!unixSeconds || !Number.isFinite(unixSeconds)) return "—";
  return new Date(unixSeconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A decimal token amount ("2.5") in base units (2500000000000000000n), exact; null when it is
 * not a plain non-negative decimal or has more than `decimals` decimals. */
export function toBaseUnits(value: string, decimals = 18): bigint | null {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(value.trim());
  if (!match) return null;
  const [, whole = "0", fraction = ""] = match;
  if (fraction.length > decimals) return null;
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

/** Seconds as "2 h 5 min" ("45 s" under a minute, "0 s" for none or less). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const parts = [days && `${days} d`, hours && `${hours} h`, minutes && `${minutes} min`].filter(Boolean);
  if (!days && !hours && s % 60) parts.push(`${s % 60} s`);
  return parts.join(" ");
}

/** A long hex id (a job's, a GPU's) as 0x123456…abcd; an address as shortAddress does. */
export function shortId(id: string): string {
  return /^0x[0-9a-fA-F]{16,}$/.test(id) ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

/** A byte count as people read it: 512 B, 1.5 KiB, 2.25 MiB, 3 GiB (two decimals at most). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? String(value) : String(Math.floor(value * 100) / 100);
  return `${shown} ${units[unit]}`;
}
