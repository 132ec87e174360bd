import { lazy, Suspense, type ReactNode } from "react";
import { ErrorLine } from "../components/ErrorLine";
import { ReceiptPage, WalletPage } from "../features/account";
import { SessionProvider, SignIn, useSession } from "../features/auth";
import { MarketplacePage } from "../features/marketplace";
import { ConnectWallet, NetworkNotice, WalletProvider, useWallet } from "../features/wallet";
import { Link, matchPath, usePath } from "./router";

/** The pages in the header. */
const PAGES = [
  { path: "/", title: "Marketplace" },
  { path: "/instances", title: "My jobs" },
  { path: "/wallet", title: "Wallet" },
  { path: "/images", title: "Images and data" },
  { path: "/provider", title: "Provider" },
  { path: "/operator", title: "Operator" },
] as const;

// Renting and the console load when first opened: the marketplace's first page stays small.
const RentPage = lazy(() => import("../features/rent").then((m) => ({ default: m.RentPage })));
const ConsolePage = lazy(() => import("../features/instances").then((m) => ({ default: m.ConsolePage })));
const ImagesPage = lazy(() => import("../features/images").then((m) => ({ default: m.ImagesPage })));
const ProviderPage = lazy(() => import("../features/provider").then((m) => ({ default: m.ProviderPage })));
const OperatorPage = lazy(() => import("../features/operator").then((m) => ({ default: m.OperatorPage })));
const InstancesPage = lazy(() => import("../features/instances").then((m) => ({ default: m.InstancesPage })));

/** Every route: a pattern and what it renders with its parameters (0x-hex ids only). */
const ROUTES: { pattern: string; render(params: Record<string, string>): ReactNode }[] = [
  { pattern: "/", render: () => <MarketplacePage /> },
  { pattern: "/wallet", render: () => <WalletPage /> },
  { pattern: "/wallet/receipts/:jobId", render: (p) => <ReceiptPage key={p.jobId} jobId={p.jobId ?? ""} /> },
  { pattern: "/images", render: () => <ImagesPage /> },
  { pattern: "/provider", render: () => <ProviderPage /> },
  { pattern: "/operator", render: () => <OperatorPage /> },
  { pattern: "/instances", render: () => <InstancesPage /> },
  { pattern: "/instances/:jobId", render: (p) => <ConsolePage key={p.jobId} jobId={p.jobId ?? ""} /> },
  { pattern: "/rent/:gpuId", render: (p) => <RentPage key={p.gpuId} gpuId={p.gpuId ?? ""} /> },
];

function route(path: string): ReactNode | null {
  for (const r of ROUTES) {
    const params = matchPath(r.pattern, path);
    if (params) return r.render(params);
  }
  return null;
}

function Header({ path }: { path: string }) {
  return (
    <header className="top">
      <a className="brand" href="/">gpurent</a>
      <nav aria-label="Pages">
        {PAGES.map((p) => (
          <Link key={p.path} to={p.path} current={p.path === path}>
            {p.title}
          </Link>
        ))}
      </nav>
      <div className="account-controls">
        <ConnectWallet />
        <SignIn />
      </div>
    </header>
  );
}

function Problems() {
  const wallet = useWallet();
  const session = useSession();
  return (
    <>
      <NetworkNotice />
      <ErrorLine error={wallet.error} />
      <ErrorLine error={session.error} />
    </>
  );
}

function Shell() {
  const path = usePath();
  const page = route(path);
  return (
    <>
      <Header path={path} />
      <main>
        <Problems />
        <Suspense fallback={<p className="status">Loading…</p>}>
          {page ?? <p>There is no page at {path}. <a href="/">Go to the marketplace.</a></p>}
        </Suspense>
      </main>
    </>
  );
}

export function App() {
  return (
    <WalletProvider>
      <SessionProvider>
        <Shell />
      </SessionProvider>
    </WalletProvider>
  );
}
