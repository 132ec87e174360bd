import { apiPost } from "../../lib/api";

export interface Challenge {
  message: string;
  nonce: string;
  expiresAt: string | null;
}

export interface Login {
  token: string;
  address: string;
  expiresAt: number; // unix seconds
}

export function requestChallenge(address: string): Promise<Challenge> {
  return apiPost<Challenge>("/auth/challenge", { address });
}

export function logIn(message: string, signature: string): Promise<Login> {
  return apiPost<Login>("/auth/login", { message, signature });
}
