"""Who signs: an Ape account from what a caller names (an alias, a test-account index, a test
account's address, or the account itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, cast

from gpurent.errors import ConfigurationError

if TYPE_CHECKING:
    from ape.api.accounts import AccountAPI

# who signs: an Ape account, an alias, a test-account index (or its address); None: read-only
AccountRef: TypeAlias = "AccountAPI | str | int | None"


def resolve_account(account: AccountRef) -> AccountAPI | None:
    """An Ape account from an alias, a test-account index, an address of a test account, or
    an account object; None stays None (read-only)."""
    if account is None or hasattr(account, "sign_message"):
        return cast("AccountAPI | None", account)
    from ape import accounts

    found: AccountAPI
    if isinstance(account, int) or (isinstance(account, str) and account.isascii() and account.isdigit()):
        index = int(account)
        count = len(accounts.test_accounts)
        if not 0 <= index < count:
            raise ConfigurationError(f"no test account {index}: this network has {count} (0 to {count - 1})")
        found = accounts.test_accounts[index]
        return found
    text = str(account)
    if text.startswith("0x") and len(text) == 42:
        for found in accounts.test_accounts:
            if found.address.lower() == text.lower():
                return found
        raise ConfigurationError(f"no local account holds {text}: import it with `ape accounts import`")
    try:
        found = accounts.load(text)
    except Exception as err:  # ape raises several kinds for an unknown alias
        raise ConfigurationError(f"unknown account {text!r}: see `ape accounts list`") from err
    return found
