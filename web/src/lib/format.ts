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
  if (!unixSeconds) return "—";
  return new Date(unixSeconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}
