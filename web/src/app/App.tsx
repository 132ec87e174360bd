import { ErrorLine } from "../components/ErrorLine";
import { WalletPage } from "../features/account";
import { SessionProvider, SignIn, useSession } from "../features/auth";
import { MarketplacePage } from "../features/marketplace";
import { ConnectWallet, NetworkNotice, WalletProvider, useWallet } from "../features/wallet";
import { Link, usePath } from "./router";

const PAGES = [
  { path: "/", title: "Marketplace", page: MarketplacePage },
  { path: "/wallet", title: "Wallet", page: WalletPage },
] as const;

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
  const found = PAGES.find((p) => p.path === path);
  const Page = found?.page;
  return (
    <>
      <Header path={path} />
      <main>
        <Problems />
        {Page ? <Page /> : <p>There is no page at {path}. <a href="/">Go to the marketplace.</a></p>}
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
