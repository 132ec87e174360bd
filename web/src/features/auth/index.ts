export { SessionProvider, useSession, type Session, type SessionState } from "./SessionProvider";
export { SignIn } from "./SignIn";
