// Where the renter's image already is: each provider's agent says (GET /api/v1/images/<cid>/cached).
export const IMAGE_STATES = ["ready", "stored", "absent"] as const;
export type ImageState = (typeof IMAGE_STATES)[number];

/** The gateway's answer for `cid`, each value checked: anything but a state is "not known" (null). */
export function parseImageStates(data: unknown, cid: string): Record<string, ImageState | null> {
  const out: Record<string, ImageState | null> = {};
  if (typeof data !== "object" || data === null) return out;
  const { cid: about, providers } = data as { cid?: unknown; providers?: unknown };
  if (about !== cid || typeof providers !== "object" || providers === null) return out;
  for (const [address, state] of Object.entries(providers as Record<string, unknown>)) {
    if (/^0x[0-9a-f]{40}$/.test(address)) out[address] = IMAGE_STATES.includes(state as ImageState) ? (state as ImageState) : null;
  }
  return out;
}

/** What the state means for this rental's start, in words. */
export function imageStateText(state: ImageState | null | undefined): string {
  switch (state) {
    case "ready":
      return "image already cached here: starts without a download";
    case "stored":
      return "image stored here: loads without a download";
    case "absent":
      return "image not here yet: downloaded first";
    case null:
      return "whether the image is here is not known (the provider did not say)";
    default:
      return "";
  }
}
