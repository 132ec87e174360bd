// Sign-In with Ethereum (EIP-4361): the gateway writes the message; before the wallet signs it
// the app reads it back and checks that it names this site, this account and this chain, so a
// gateway (or anything between) cannot get a signature for another site's sign-in.

export interface SiweFields {
  domain: string;
  address: string;
  statement: string | null;
  uri: string;
  version: string;
  chainId: number;
  nonce: string;
  issuedAt: string;
  expirationTime: string | null;
}

const HEADER = " wants you to sign in with your Ethereum account:";

export class SiweError extends Error {}

/** The fields of an EIP-4361 message (the subset the gateway writes: no resources). */
export function parseSiwe(message: string): SiweFields {
  const lines = message.split("\n");
  const first = lines[0] ?? "";
  if (!first.endsWith(HEADER)) throw new SiweError("The sign-in message is not an EIP-4361 message.");
  const domain = first.slice(0, -HEADER.length);
  const address = lines[1] ?? "";
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new SiweError("The sign-in message names no account.");
  let i = 2;
  if (lines[i] !== "") throw new SiweError("The sign-in message is malformed.");
  i += 1;
  let statement: string | null = null;
  if (lines[i] !== "" && !(lines[i] ?? "").startsWith("URI: ")) {
    statement = lines[i] ?? "";
    i += 1;
  }
  if (lines[i] === "") i += 1;
  const tags: Record<string, string> = {};
  for (; i < lines.length; i += 1) {
    const line = lines[i] ?? "";
    const at = line.indexOf(": ");
    if (at < 0) throw new SiweError(`The sign-in message has a line it should not: ${line.slice(0, 60)}`);
    tags[line.slice(0, at)] = line.slice(at + 2);
  }
  const need = (tag: string): string => {
    const value = tags[tag];
    if (value === undefined) throw new SiweError(`The sign-in message has no ${tag}.`);
    return value;
  };
  return {
    domain,
    address,
    statement,
    uri: need("URI"),
    version: need("Version"),
    chainId: Number(need("Chain ID")),
    nonce: need("Nonce"),
    issuedAt: need("Issued At"),
    expirationTime: tags["Expiration Time"] ?? null,
  };
}

export interface Expected {
  host: string; // location.host
  origin: string; // location.origin
  address: string;
  chainId: number;
}

/** The message's fields if it is this site's sign-in for this account on this chain; a
 * SiweError saying what differs otherwise. */
export function checkChallenge(message: string, expected: Expected): SiweFields {
  const fields = parseSiwe(message);
  if (fields.domain !== expected.host) {
    throw new SiweError(`The sign-in message is for ${fields.domain}, not this site (${expected.host}): not signing it.`);
  }
  let origin = "";
  try {
    origin = new URL(fields.uri).origin;
  } catch {
    throw new SiweError("The sign-in message's URI is not a URL: not signing it.");
  }
  if (origin !== expected.origin) {
    throw new SiweError(`The sign-in message's URI is ${origin}, not this site (${expected.origin}): not signing it.`);
  }
  if (fields.address.toLowerCase() !== expected.address.toLowerCase()) {
    throw new SiweError(`The sign-in message names the account ${fields.address}, not yours: not signing it.`);
  }
  if (fields.chainId !== expected.chainId) {
    throw new SiweError(`The sign-in message is for chain ${fields.chainId}, not ${expected.chainId}: not signing it.`);
  }
  if (fields.version !== "1") throw new SiweError(`The sign-in message has version ${fields.version}, not 1.`);
  return fields;
}
