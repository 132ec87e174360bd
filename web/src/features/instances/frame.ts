/** A WebSocket text frame as a JSON object; null for anything else (not JSON, or not an object):
 * a provider's frames are untrusted, and each parser checks the fields it reads. */
export function frameObject(frame: string): Record<string, unknown> | null {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return null;
  }
  return typeof data === "object" && data !== null ? (data as Record<string, unknown>) : null;
}
